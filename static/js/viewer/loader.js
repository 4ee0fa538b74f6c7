// Loads a series: its manifest, then every frame through one streamed response that
// starts at the slice being looked at and works outward. Frames are kept as typed arrays.

const TYPES = { uint16: Uint16Array, int16: Int16Array, uint8: Uint8Array };

export class SeriesLoader {
  constructor(caseUrl, seriesId, { onFrame, onProgress } = {}) {
    this.caseUrl = caseUrl;
    this.seriesId = seriesId;
    this.onFrame = onFrame || (() => {});
    this.onProgress = onProgress || (() => {});
    this.frames = [];
    this.loaded = 0;
    this.manifest = null;
    this.controller = null;
    this.streamFrom = null;
  }

  async load(first = 0) {
    const response = await fetch(`${this.caseUrl}series/${this.seriesId}/`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`series ${this.seriesId}: HTTP ${response.status}`);
    this.manifest = await response.json();
    this.frames = new Array(this.manifest.slices.length).fill(null);
    this.stream(first);
    return this.manifest;
  }

  get count() {
    return this.frames.length;
  }

  has(index) {
    return this.frames[index] != null;
  }

  // Restart the stream from `index` when the user jumps far from what is arriving.
  prioritise(index) {
    if (this.has(index) || this.loaded === this.count) return;
    if (this.streamFrom !== null && Math.abs(this.streamFrom - index) < 8) return;
    this.stream(index);
  }

  stream(first) {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.streamFrom = first;
    const url = `${this.caseUrl}series/${this.seriesId}/frames/?first=${first}`;
    fetch(url, { credentials: "same-origin", signal: controller.signal })
      .then((response) => this.read(response.body.getReader(), controller))
      .catch((err) => {
        if (err.name !== "AbortError") console.error(err);
      });
  }

  async read(reader, controller) {
    let buffer = new Uint8Array(0);
    for (;;) {
      const { done, value } = await reader.read();
      if (done || controller.signal.aborted) break;
      const joined = new Uint8Array(buffer.length + value.length);
      joined.set(buffer);
      joined.set(value, buffer.length);
      buffer = joined;
      let offset = 0;
      for (;;) {
        const record = parseRecord(buffer, offset);
        if (!record) break;
        offset = record.end;
        if (!this.has(record.position)) {
          this.frames[record.position] = record.frame;
          this.loaded += 1;
          this.onFrame(record.position, record.frame);
          this.onProgress(this.loaded, this.count);
        }
      }
      buffer = buffer.slice(offset);
    }
    if (this.controller === controller) {
      this.controller = null;
      this.streamFrom = null;
    }
  }

  abort() {
    if (this.controller) this.controller.abort();
  }
}

// One record: u32 slice position, u32 header length, JSON header, u32 body length, body.
export function parseRecord(buffer, offset) {
  if (buffer.length - offset < 8) return null;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const position = view.getUint32(offset, true);
  const headerLength = view.getUint32(offset + 4, true);
  if (buffer.length - offset < 12 + headerLength) return null;
  const headerBytes = buffer.subarray(offset + 8, offset + 8 + headerLength);
  const bodyLength = view.getUint32(offset + 8 + headerLength, true);
  const start = offset + 12 + headerLength;
  if (buffer.length < start + bodyLength) return null;
  const header = JSON.parse(new TextDecoder().decode(headerBytes));
  const body = buffer.slice(start, start + bodyLength); // a copy: aligned, owned
  const Type = TYPES[header.dtype] || Uint16Array;
  return { position, end: start + bodyLength, frame: { header, values: new Type(body.buffer) } };
}
