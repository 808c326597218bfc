// Just enough of PNG (8-bit RGB or RGBA, as Chromium writes them) to tell
// a screenshot with something on it from a blank one.
import { inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** RGB(A) bytes, row after row. */
  pixels: Buffer;
  channels: number;
}

export function decodePng(png: Buffer): Image {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('png: not a PNG');
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, color] = [data[8], data[9]];
      channels = { 2: 3, 6: 4 }[color] ?? 0;
      if (depth !== 8 || !channels || data[12] !== 0) {
        throw new Error(`png: depth ${depth} color ${color} not supported`);
      }
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  return { width, height, channels,
    pixels: unfilter(inflateSync(Buffer.concat(idat)), width, height,
      channels) };
}

/** Undoes the per-row filters of PNG (spec section 9). */
function unfilter(raw: Buffer, width: number, height: number, bpp: number) {
  const stride = width * bpp;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0;
      const b = y > 0 ? out[row - stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp] : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      out[row + x] = (src[x] + pred) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Share of pixels that differ from the most common colour (the page). */
export function inkRatio(img: Image): number {
  const counts = new Map<number, number>();
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const o = i * img.channels;
    const rgb = (img.pixels[o] << 16) | (img.pixels[o + 1] << 8) |
      img.pixels[o + 2];
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  return (n - background) / n;
}
