/**
 * Lines to stdout in 64 KB chunks, written as they are made: a plan listing a million pairs
 * never holds its listing whole. On Linux, stdout to a file, pipe or terminal is synchronous
 * (Node's process.stdout), so nothing piles up behind a slow reader either.
 */
const CHUNK = 64 * 1024;

export class OutputWriter {
  private buffer: string[] = [];
  private size = 0;

  constructor(private readonly stream: { write(chunk: string): unknown }) {}

  line(text: string): void {
    this.buffer.push(text, "\n");
    this.size += text.length + 1;
    if (this.size >= CHUNK) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    this.stream.write(this.buffer.join(""));
    this.buffer = [];
    this.size = 0;
  }
}
