/**
 * Windows-1252, the code page of the server's default collation (SQL_Latin1_General_CP1_CI_AS),
 * in which varchar/char/text travel. It equals Latin-1 except for 0x80–0x9F.
 */
const HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
];
const REVERSE = new Map(HIGH.map((code, i) => [code, 0x80 + i]));

export function encodeCp1252(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A character outside the code page becomes '?', as SQL Server stores it.
    out[i] = REVERSE.get(c) ?? (c < 0x80 || (c >= 0xa0 && c <= 0xff) ? c : 0x3f);
  }
  return out;
}

export function decodeCp1252(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b >= 0x80 && b <= 0x9f ? HIGH[b - 0x80]! : b);
  return s;
}
