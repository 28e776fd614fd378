import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  inNetwork,
  ipText,
  parseAnswerAddress,
  parseClientIp,
  parseIp4Network,
  parseIp6Network,
  reverseName,
} from '../src/spf/ip.js';

function ip(text: string) {
  const parsed = parseClientIp(text);
  assert.ok(parsed, text);
  return parsed;
}

test('IPv4 prefixes, including /0, /1 with the high bit set, and /32', () => {
  const net = parseIp4Network('192.0.2.0');
  assert.ok(net);
  assert.equal(inNetwork(ip('192.0.2.255'), net, 24), true);
  assert.equal(inNetwork(ip('192.0.3.0'), net, 24), false);
  assert.equal(inNetwork(ip('1.2.3.4'), net, 0), true);
  assert.equal(inNetwork(ip('255.255.255.255'), net, 1), true);
  assert.equal(inNetwork(ip('127.0.0.1'), net, 1), false);
  assert.equal(inNetwork(ip('192.0.2.0'), net, 32), true);
  assert.equal(inNetwork(ip('192.0.2.1'), net, 32), false);
  assert.equal(parseIp4Network('192.0.2.01'), undefined, 'no leading zeros in records');
  assert.equal(parseIp4Network('192.0.2'), undefined);
  assert.equal(parseClientIp('256.0.0.1'), undefined);
});

test('IPv6 prefixes inside a 16-bit group, families never mix, IPv4-mapped becomes IPv4', () => {
  const net = parseIp6Network('2001:db8:8000::');
  assert.ok(net);
  assert.equal(inNetwork(ip('2001:db8:8fff::1'), net, 36), true);
  assert.equal(inNetwork(ip('2001:db8:7fff::1'), net, 36), false);
  assert.equal(inNetwork(ip('2001:db8:8000::'), net, 128), true);
  assert.equal(inNetwork(ip('::1'), net, 0), true);
  assert.equal(inNetwork(ip('192.0.2.1'), net, 0), false);
  assert.equal(ip('::ffff:192.0.2.1').version, 4);
  assert.equal(parseIp6Network('2001:db8::%eth0'), undefined);
  assert.equal(parseAnswerAddress('not an address'), undefined);
  assert.equal(
    reverseName(ip('2001:db8::1')),
    '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
  );
  assert.equal(reverseName(ip('192.0.2.1')), '1.2.0.192.in-addr.arpa');
});

test('RFC 4291 text forms only: no 5-digit groups, no nine groups, IPv4-compatible stays IPv6', () => {
  for (const bad of [
    '00000::1',
    '0000000001::',
    '1::2:3:4:5:6:7:8',
    '::ffff:01.2.3.4',
    '1:2:3:4:5:6:7',
    ':::1',
    '1::2::3',
    '1.2.3.4::',
    'g::1',
    '',
  ]) {
    assert.equal(parseIp6Network(bad), undefined, bad);
  }
  for (const good of [
    '::',
    '::1',
    '1::',
    '2001:db8::',
    '1:2:3:4:5:6:7:8',
    '::ffff:192.0.2.1',
    '1:2:3:4:5:6:1.2.3.4',
    'FE80::1',
  ]) {
    assert.ok(parseIp6Network(good), good);
  }
  const compatible = ip('::1.2.3.4');
  assert.equal(compatible.version, 6, '::a.b.c.d is not IPv4-mapped');
  const v4net = parseIp4Network('1.2.3.4');
  assert.ok(v4net);
  assert.equal(inNetwork(compatible, v4net, 32), false);
  const net = parseIp6Network('::1.2.3.4');
  assert.ok(net);
  assert.equal(inNetwork(ip('::102:304'), net, 128), true);
});

test('RFC 5952 text form for %{c} and traces', () => {
  const cases: Array<[string, string]> = [
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['CAFE:BABE::1', 'cafe:babe::1'],
  ];
  for (const [input, expected] of cases) assert.equal(ipText(ip(input)), expected, input);
});
