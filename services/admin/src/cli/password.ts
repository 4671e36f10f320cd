// Reading a password: prompted twice without echo on a terminal, or the first
// line of standard input (scripts, `echo pw | postamt user add ...`).
import { createInterface } from 'node:readline';
import { UsageError } from './args.js';

export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (!line) throw new UsageError('no password on standard input');
  return line;
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const rlAny = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    rlAny._writeToOutput = (s: string) => {
      // Echo only the prompt and the final newline, never the typed characters.
      if (s.includes(question) || s === '\r\n' || s === '\n') rlAny.output.write(s);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

export async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return readStdinLine();
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new UsageError('the passwords do not match');
  if (!first) throw new UsageError('empty password');
  return first;
}
