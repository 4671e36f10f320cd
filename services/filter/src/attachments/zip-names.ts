// File names inside a ZIP archive, read from its central directory
// (APPNOTE.TXT §4.3.12 and §4.3.16): enough to ban `invoice.pdf.exe` inside
// `invoice.zip` without extracting anything. Pure; a damaged archive gives
// the names that could be read.
export function zipNames(zip: Buffer, max = 10_000): string[] {
  // The end-of-central-directory record is in the last 22 + 65535 bytes.
  const from = Math.max(0, zip.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = zip.length - 22; i >= from; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return [];
  const count = zip.readUInt16LE(eocd + 10);
  let pos = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let n = 0; n < Math.min(count, max) && pos + 46 <= zip.length; n++) {
    if (zip.readUInt32LE(pos) !== 0x02014b50) break;
    const utf8 = (zip.readUInt16LE(pos + 8) & 0x0800) !== 0;
    const nameLen = zip.readUInt16LE(pos + 28);
    const extraLen = zip.readUInt16LE(pos + 30);
    const commentLen = zip.readUInt16LE(pos + 32);
    names.push(zip.subarray(pos + 46, pos + 46 + nameLen).toString(utf8 ? 'utf8' : 'latin1'));
    pos += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}
