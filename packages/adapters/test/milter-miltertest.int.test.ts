// An independent peer: OpenDKIM's miltertest (Debian package miltertest) plays the MTA against
// mailward's milter server with a Lua script and checks the replies. Needs /usr/bin/miltertest
// (.ci/run installs it); the test fails naming the package when it is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { milter } from '@mailward/core';
import { startMilterServer, type MilterSessionEnd } from '../src/index.js';

const { Action, Protocol, ALL_NO_REPLY } = milter;
const MILTERTEST = '/usr/bin/miltertest';

function run(script: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(MILTERTEST, ['-s', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

// A handler that labels mail and rejects a sender named "spoofer", to see both kinds of reply.
function handler(): milter.MilterHandler {
  let from = '';
  let headers = 0;
  let body = 0;
  return {
    async mail(sender) {
      from = sender;
      return { type: 'continue' };
    },
    async header() {
      headers++;
      return { type: 'continue' };
    },
    async body(chunk) {
      body += chunk.length;
      return { type: 'continue' };
    },
    async eom(ctx) {
      if (from.includes('spoofer')) {
        const reply = milter.smtpReply('550', '5.7.1', 'DMARC policy of example.org says reject');
        if (!reply.ok) throw new Error(reply.error);
        return { decision: reply.reply };
      }
      const value = `mx.test; client=${ctx.connect?.address}; helo=${ctx.helo}; headers=${headers}; body=${body}`;
      return {
        edits: [{ type: 'insertHeader', index: 0, name: 'Authentication-Results', value }],
        decision: { type: 'accept' },
      };
    },
  };
}

const script = (port: number, sender: string, checks: string) => `
mt.set_timeout(5)
local conn = mt.connect("inet:${port}@127.0.0.1")
if conn == nil then error("mt.connect failed") end
local err = mt.negotiate(conn, nil, nil, nil)
if err ~= nil then error("negotiate: " .. err) end
if not mt.test_action(conn, SMFIF_ADDHDRS) then error("SMFIF_ADDHDRS not requested") end
if not mt.test_option(conn, SMFIP_NR_HDR) then error("SMFIP_NR_HDR not requested") end
if not mt.test_option(conn, SMFIP_HDR_LEADSPC) then error("SMFIP_HDR_LEADSPC not requested") end
if mt.conninfo(conn, "client.example", "192.0.2.44") ~= nil then error("conninfo") end
if mt.helo(conn, "client.example") ~= nil then error("helo") end
if mt.mailfrom(conn, "${sender}") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<user@example.net>") ~= nil then error("rcptto") end
if mt.header(conn, "From", " ${sender}") ~= nil then error("header") end
if mt.header(conn, "Subject", " hello") ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, "Hello there\\r\\n") ~= nil then error("bodystring") end
if mt.eom(conn) ~= nil then error("eom") end
${checks}
mt.disconnect(conn)
mt.echo("miltertest: all checks passed")
`;

test('miltertest (OpenDKIM) drives the server: negotiate, connect, helo, envfrom, rcpt, header, eoh, body, eom', async () => {
  assert.ok(existsSync(MILTERTEST), 'miltertest is missing: apt-get install miltertest');
  const ends: MilterSessionEnd[] = [];
  const server = await startMilterServer({
    listen: 'inet:127.0.0.1:0',
    createHandler: handler,
    wants: {
      requiredActions: Action.ADDHDRS,
      optionalActions: Action.CHGHDRS,
      protocol: ALL_NO_REPLY | Protocol.HDR_LEADSPC | Protocol.SKIP,
    },
    onSessionEnd: (end) => ends.push(end),
  });
  const dir = await mkdtemp(join(tmpdir(), 'mailward-miltertest-'));
  try {
    const port = Number(/:(\d+)$/.exec(server.address)![1]);
    const accept = join(dir, 'accept.lua');
    await writeFile(
      accept,
      script(
        port,
        '<alice@example.org>',
        `if mt.getreply(conn) ~= SMFIR_ACCEPT then error("expected SMFIR_ACCEPT") end
if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then error("no Authentication-Results inserted") end
local ar = mt.getheader(conn, "Authentication-Results", 0)
if ar ~= "mx.test; client=192.0.2.44; helo=client.example; headers=2; body=13" then error("A-R was: " .. tostring(ar)) end`,
      ),
    );
    const accepted = await run(accept);
    assert.equal(accepted.code, 0, accepted.output);
    assert.match(accepted.output, /all checks passed/);

    const reject = join(dir, 'reject.lua');
    await writeFile(
      reject,
      script(
        port,
        '<spoofer@example.org>',
        `if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("expected SMFIR_REPLYCODE") end
if not mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "DMARC policy of example.org says reject") then error("not the 550 5.7.1 reply") end`,
      ),
    );
    const rejected = await run(reject);
    assert.equal(rejected.code, 0, rejected.output);
    assert.ok(
      ends.every((e) => !e.error),
      JSON.stringify(ends),
    );
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
