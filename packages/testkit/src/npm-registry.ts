/**
 * A throwaway npm registry on a loopback port that serves the packages already installed in a
 * checkout, so a test can install mailward's tarballs the way a user does (npm resolving every
 * dependency range) without touching the network.
 *
 * Names and versions come from the checkout's package-lock.json; each tarball is made from the
 * installed directory (node_modules/NAME, without its nested node_modules). Native modules are
 * therefore served already built: better-sqlite3's tarball carries the build/Release/*.node that
 * `npm ci` compiled in the checkout, so an install with --ignore-scripts gets a working module and
 * needs neither a compiler nor a download of prebuilt binaries.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Tarball {
  readonly file: string;
  readonly integrity: string;
  readonly shasum: string;
}

export interface LocalNpmRegistry {
  /** Registry URL, ending in a slash, for npm's --registry. */
  readonly url: string;
  /** Request paths in arrival order (packuments as /NAME, tarballs as /-/tarball/NAME/-/VERSION). */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** Lockfile entries by package name, then version: the installed directory relative to root. */
function installedPackages(root: string): Map<string, Map<string, string>> {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { name?: string; version?: string; link?: boolean }>;
  };
  const byName = new Map<string, Map<string, string>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Workspace links ("node_modules/@mailward/core" -> packages/core) are the packages under test:
    // the test installs them from their own tarballs, never from here.
    if (!path.includes('node_modules/') || entry.link === true || entry.version === undefined) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const versions = byName.get(name) ?? new Map<string, string>();
    if (!versions.has(entry.version)) versions.set(entry.version, path);
    byName.set(name, versions);
  }
  return byName;
}

/** Starts the registry for the checkout at `root`, writing tarballs into `workDir`. */
export async function startLocalNpmRegistry(root: string, workDir: string): Promise<LocalNpmRegistry> {
  const packages = installedPackages(root);
  const tarballs = new Map<string, Promise<Tarball>>();
  const requests: string[] = [];

  const tarball = (name: string, version: string, dir: string): Promise<Tarball> => {
    const id = `${name}@${version}`;
    let made = tarballs.get(id);
    if (made === undefined) {
      made = (async () => {
        const file = join(workDir, `${id.replace(/[/@]/g, '_')}.tgz`);
        // --hard-dereference: node-gyp leaves the .node file hard-linked twice, and npm's
        // extraction drops hard-link entries, which would lose the compiled module.
        await run('tar', [
          '-czf',
          file,
          '--hard-dereference',
          '--exclude=./node_modules',
          '--transform=s,^\\.,package,',
          '-C',
          join(root, dir),
          '.',
        ]);
        const bytes = await readFile(file);
        return {
          file,
          integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
          shasum: createHash('sha1').update(bytes).digest('hex'),
        };
      })();
      tarballs.set(id, made);
    }
    return made;
  };

  const server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] ?? '/');
    requests.push(path);
    const reply = async (): Promise<void> => {
      const tarballPath = /^\/-\/tarball\/(.+)\/-\/([^/]+)$/.exec(path);
      if (tarballPath !== null) {
        const [, name = '', version = ''] = tarballPath;
        const dir = packages.get(name)?.get(version);
        if (dir === undefined) return notFound();
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(await readFile((await tarball(name, version, dir)).file));
        return;
      }
      const name = path.slice(1);
      const versions = packages.get(name);
      if (versions === undefined) return notFound();
      const packument = { name, 'dist-tags': { latest: '' }, versions: {} as Record<string, unknown> };
      for (const [version, dir] of versions) {
        const manifest = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8')) as object;
        const made = await tarball(name, version, dir);
        packument.versions[version] = {
          ...manifest,
          name,
          version,
          dist: { tarball: `${url}-/tarball/${name}/-/${version}`, integrity: made.integrity, shasum: made.shasum },
        };
        packument['dist-tags'].latest = version;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(packument));
    };
    const notFound = (): void => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"error":"not found"}');
    };
    reply().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
