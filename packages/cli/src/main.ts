#!/usr/bin/env node
// The only file of mailward that reads argv and the environment, prints, and exits.
import { hostname } from 'node:os';
import { runProgram } from './program.js';

const result = await runProgram(process.argv.slice(2), { hostname: hostname() });
if (result.stdout) process.stdout.write(result.stdout);
if (result.stderr) process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
