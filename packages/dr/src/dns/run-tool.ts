// Runs one of BIND's clients (nsupdate, dig) with input on stdin and a hard deadline. Secrets go
// on stdin only: a command line is readable by every user through /proc.
import { spawn } from 'node:child_process';
import { DnsError } from './provider.js';

export interface ToolResult {
  code: number;
  out: string;
}

export function runTool(bin: string, args: string[], input: string, deadlineMs: number): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    // The tools' own timeouts come first; this only catches a client that hangs anyway.
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') {
        reject(new DnsError('FSDR_DNS_TOOL_MISSING', `${bin} is not installed (the rfc2136 DNS provider runs BIND's ${bin})`, {
          hint: 'install Debian\'s bind9-dnsutils (apt-get install bind9-dnsutils)',
        }));
      } else reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), out: signal ? `${out}\n; killed after ${deadlineMs} ms: timed out` : out });
    });
    child.stdin.on('error', () => { /* the tool exited before reading all input; its output says why */ });
    child.stdin.end(input);
  });
}
