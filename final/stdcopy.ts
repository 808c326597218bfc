// Docker's multiplexed stream ("stdcopy"), used by attach, logs and exec
// when there is no terminal: each frame is an 8-byte header - stream (0
// stdin, 1 stdout, 2 stderr), three zero bytes, the payload length as a
// big-endian uint32 - then the payload. Without a terminal the two
// output streams share one connection and stay apart this way.

export type StdStream = 'stdin' | 'stdout' | 'stderr';

// #region stdcopy
export function frame(stream: StdStream, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdin' ? 0 : stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Splits a multiplexed stream back into (stream, payload) pairs. */
export class Demuxer {
  private buf = Buffer.alloc(0);

  push(chunk: Buffer, emit: (stream: number, data: Buffer) => void): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      emit(this.buf[0], this.buf.subarray(8, 8 + size));
      this.buf = this.buf.subarray(8 + size);
    }
  }
}
// #endregion
