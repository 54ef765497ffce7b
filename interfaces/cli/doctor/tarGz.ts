import { gzipSync } from 'node:zlib';

export type TarEntry = { name: string; content: string | Buffer; mtime?: Date };

const BLOCK = 512;

const field = (header: Buffer, offset: number, length: number, value: string) => {
  header.write(value, offset, Math.min(Buffer.byteLength(value), length), 'utf8');
};
const octal = (header: Buffer, offset: number, length: number, value: number) =>
  field(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);

/** One ustar header: regular files only, names up to 100 bytes (the bundle's names are short and ours). */
const header = (name: string, size: number, mtime: Date): Buffer => {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(BLOCK);
  field(h, 0, 100, name);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.floor(mtime.getTime() / 1000));
  h.fill(' ', 148, 156); // the checksum is computed with its own field as spaces
  field(h, 156, 1, '0');
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  field(h, 265, 32, 'chatbot');
  field(h, 297, 32, 'chatbot');
  let sum = 0;
  for (const byte of h) sum += byte;
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
};

/** A gzip-compressed tar of in-memory files (what `tar -xzf` reads). */
export const tarGz = (entries: readonly TarEntry[], now = new Date()): Buffer => {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : entry.content;
    parts.push(header(entry.name, body.length, entry.mtime ?? now), body);
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts));
};
