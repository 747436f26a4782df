/** What loading a model or an adapter matched, named as transformers and PEFT name it. */
export interface LoadReport {
  /** Tensors the model (or the adapter's targeted modules) needs that the file lacks. */
  missingKeys: string[];
  /** Tensors of the file the model does not use. */
  unexpectedKeys: string[];
}
