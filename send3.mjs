import { MilterClient } from '/work/wt-milter/packages/adapters/dist/src/index.js';
const client = await MilterClient.connect(process.argv[2]);
const events = await client.message({
  connect: { hostname: 'client.example', family: 'inet4', port: 4000, address: '203.0.113.9' },
  helo: 'client.example', sender: '<ceo@bank.example>', recipients: ['<a@example.org>'],
  headers: ['Authentication-Results: mx.example.org; dmarc=pass header.from=bank.example', 'From: <ceo@bank.example>', 'Subject: wire'], body: 'text\r\n',
  macros: { eom: [['i', '4Q2x7Zm7Fw']] },
});
for (const r of events.at(-1).replies) console.log(r.type, r.index ?? '', r.name ?? '', r.type === 'insertHeader' || r.type==='changeHeader' ? JSON.stringify(r.value) : '');
await client.quit();
