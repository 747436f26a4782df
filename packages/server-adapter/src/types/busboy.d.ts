// Minimal types of busboy 1.x (the package ships none and @types/busboy is not installed).
declare module 'busboy' {
  import type { Readable, Writable } from 'node:stream';

  namespace busboy {
    interface FileInfo {
      filename?: string;
      encoding: string;
      mimeType: string;
    }
    interface Limits {
      files?: number;
      fileSize?: number;
      fields?: number;
      fieldSize?: number;
      parts?: number;
    }
    interface Config {
      headers: Record<string, string | string[] | undefined>;
      limits?: Limits;
    }
    interface Busboy extends Writable {
      on(event: 'file', listener: (field: string, stream: Readable, info: FileInfo) => void): this;
      on(event: 'error', listener: (error: Error) => void): this;
      on(event: 'close', listener: () => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }
  function busboy(config: busboy.Config): busboy.Busboy;
  export default busboy;
}
