// The MTA side of the codec: commands as Postfix writes them (src/milter/milter8.c). Used by
// mailward's MTA-side test client and benchmarks, and by the round-trip tests of the decoder.
import { Command, Family } from './constants.js';
import { concatBytes, cString, uint32 } from './bytes.js';
import type { MilterCommand } from './commands.js';
import { encodeFrame } from './frame.js';

const stageCodes: Record<string, number> = {
  connect: Command.connect,
  helo: Command.helo,
  mail: Command.mail,
  rcpt: Command.rcpt,
  data: Command.data,
  eoh: Command.eoh,
  eom: Command.bodyEob,
  header: Command.header,
  body: Command.body,
  unknown: Command.unknown,
};

export function encodeCommand(command: MilterCommand): Uint8Array {
  switch (command.type) {
    case 'optneg':
      return encodeFrame(
        Command.optneg,
        concatBytes([uint32(command.version), uint32(command.actions), uint32(command.protocol)]),
      );
    case 'macro':
      return encodeFrame(
        Command.macro,
        concatBytes([
          Uint8Array.of(stageCodes[command.stage] as number),
          ...command.macros.flatMap(([n, v]) => [cString(n), cString(v)]),
        ]),
      );
    case 'connect': {
      const head = [cString(command.hostname), Uint8Array.of(Family[command.family])];
      if (command.family === 'unknown') return encodeFrame(Command.connect, concatBytes(head));
      const port = new Uint8Array(2);
      new DataView(port.buffer).setUint16(0, command.port ?? 0, false);
      return encodeFrame(Command.connect, concatBytes([...head, port, cString(command.address ?? '')]));
    }
    case 'helo':
      return encodeFrame(Command.helo, cString(command.hostname));
    case 'mail':
      return encodeFrame(Command.mail, concatBytes([command.sender, ...command.args].map((s) => cString(s))));
    case 'rcpt':
      return encodeFrame(Command.rcpt, concatBytes([command.recipient, ...command.args].map((s) => cString(s))));
    case 'header':
      return encodeFrame(Command.header, concatBytes([cString(command.name), cString(command.valueBytes)]));
    case 'body':
      return encodeFrame(Command.body, command.chunk);
    case 'eom':
      return encodeFrame(Command.bodyEob, command.chunk);
    case 'unknown':
      return encodeFrame(Command.unknown, cString(command.command));
    case 'data':
      return encodeFrame(Command.data);
    case 'eoh':
      return encodeFrame(Command.eoh);
    case 'abort':
      return encodeFrame(Command.abort);
    case 'quit':
      return encodeFrame(Command.quit);
    case 'quitNewConnection':
      return encodeFrame(Command.quitNewConnection);
  }
}
