import { test } from 'node:test';
import assert from 'node:assert/strict';
import { milter } from '../src/index.js';

const { negotiate, POSTFIX_V6_OFFER, Action, Protocol, ALL_NO_REPLY } = milter;

const wants: milter.MilterWants = {
  requiredActions: Action.ADDHDRS | Action.CHGHDRS,
  optionalActions: Action.QUARANTINE,
  protocol: ALL_NO_REPLY | Protocol.NOUNKNOWN | Protocol.SKIP | Protocol.HDR_LEADSPC,
  requiredProtocol: Protocol.HDR_LEADSPC,
  symbolLists: [{ stage: 'envfrom', macros: ['i', '{auth_authen}'] }],
};

test("against Postfix's v6 offer, every wanted bit is agreed, with SETSYMLIST", () => {
  const result = negotiate(POSTFIX_V6_OFFER, wants);
  assert.ok(result.ok);
  assert.equal(result.agreement.version, 6);
  assert.equal(result.agreement.actions, Action.ADDHDRS | Action.CHGHDRS | Action.QUARANTINE | Action.SETSYMLIST);
  assert.equal(result.agreement.protocol, 0x0ff000 | 0x80 | 0x100 | 0x400 | 0x100000);
  assert.deepEqual(result.agreement.symbolLists, wants.symbolLists);
});

test('bits the MTA does not offer are not requested; optional actions drop out; no SETSYMLIST without the action', () => {
  const offer = {
    version: 6,
    actions: Action.ADDHDRS | Action.CHGHDRS,
    protocol: Protocol.HDR_LEADSPC | Protocol.NR_HDR | 0x10000000,
  };
  const result = negotiate(offer, wants);
  assert.ok(result.ok);
  assert.equal(result.agreement.actions, Action.ADDHDRS | Action.CHGHDRS);
  assert.equal(result.agreement.protocol, Protocol.HDR_LEADSPC | Protocol.NR_HDR, 'MDS bit masked out');
  assert.deepEqual(result.agreement.symbolLists, []);
});

test('typed refusals: old version, missing action, missing protocol flag', () => {
  const old = negotiate({ ...POSTFIX_V6_OFFER, version: 2 }, wants);
  assert.ok(!old.ok);
  assert.equal(old.refusal.kind, 'version');
  assert.match(old.refusal.message, /offers milter protocol 2; mailward needs 6 \(Postfix: milter_protocol = 6\)/);
  const noHeaders = negotiate({ ...POSTFIX_V6_OFFER, actions: 0x1ff & ~Action.ADDHDRS }, wants);
  assert.ok(!noHeaders.ok);
  assert.deepEqual(noHeaders.refusal, {
    kind: 'actions',
    missing: ['SMFIF_ADDHDRS'],
    message: 'the MTA does not allow SMFIF_ADDHDRS',
  });
  const noLeadspc = negotiate({ ...POSTFIX_V6_OFFER, protocol: 0x0fffff }, wants);
  assert.ok(!noLeadspc.ok);
  assert.deepEqual(noLeadspc.refusal.kind === 'protocol' && noLeadspc.refusal.missing, ['SMFIP_HDR_LEADSPC']);
});
