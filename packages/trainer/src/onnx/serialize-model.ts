import { statSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { assertSameFile } from '../safetensors/file-backed-tensor.js';
import { DATA_TYPE_SIZES, ONNX_DATA_TYPES } from './data-type.js';
import { type AttributeValue, FLOAT_ATTRIBUTES, type Graph, type GraphNode, type Value } from './graph.js';
import { toTensorData } from './tensor-data.js';

const require = createRequire(import.meta.url);

/** onnx-proto's generated protobufjs classes (CommonJS), loaded once per call site. */
function onnxProto(): typeof OnnxNamespace {
  return (require('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
}

/** Options of {@link serializeModel}. */
export interface SerializeModelOptions {
  /**
   * Store initializers of at least `threshold` bytes (default 1 MiB) in an external data file named
   * `location` (relative to the model file), as onnxruntime expects for models above 2 GB.
   */
  externalData?: { location: string; threshold?: number };
  /**
   * Reference the files that hold lazily loaded float32 weights (initializers with a `file` region,
   * all in the folder of the first one) as ONNX external data: `location` is the file's name, with
   * the region's offset and length, so onnxruntime maps the checkpoint itself and nothing is copied.
   * The result names that folder in `externalFolder`. Other initializers are embedded. Not with
   * `externalData`.
   */
  referenceFiles?: boolean;
  producerName?: string;
}

/** A serialized model: ModelProto bytes plus, with external data, the data file's chunks. */
export interface SerializedModel {
  model: Uint8Array;
  /** Chunks of the external data file, in order (absent without external data). */
  externalData?: { location: string; chunks: Uint8Array[]; byteLength: number };
  /**
   * The folder whose files the model references as external data (`referenceFiles`): open the
   * model bytes with onnxruntime's `session.model_external_initializers_file_folder_path` set to
   * it (as `createGraphSession` does), or save it with `saveSerializedModel`.
   */
  externalFolder?: string;
}

/** Serializes a {@link Graph} into ONNX ModelProto bytes (IR version 8, opset of the graph). */
export function serializeModel(graph: Graph, options: SerializeModelOptions = {}): SerializedModel {
  const onnx = onnxProto();
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const threshold = options.externalData?.threshold ?? 1 << 20;
  const initializers: OnnxNamespace.ITensorProto[] = [];
  const nodes = elideOutputIdentities(graph, liveNodes(graph));
  const used = usedNames(graph, nodes);
  if (options.referenceFiles && options.externalData) {
    throw new TypeError('serializeModel: referenceFiles and externalData cannot be combined');
  }
  let externalFolder: string | undefined;
  const checked = new Set<string>();
  for (const initializer of graph.initializers.values()) {
    if (!used.has(initializer.name)) continue;
    const file = options.referenceFiles && initializer.dtype === 'float32' ? initializer.file : undefined;
    if (file && (externalFolder ?? dirname(file.path)) === dirname(file.path)) {
      externalFolder = dirname(file.path);
      // onnxruntime opens the path: it must still be the file the region was recorded from.
      if (!checked.has(file.path)) assertSameFile(file, statSync(file.path));
      checked.add(file.path);
      initializers.push({
        name: initializer.name,
        dims: [...initializer.shape],
        dataType: ONNX_DATA_TYPES.float32,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: basename(file.path) },
          { key: 'offset', value: String(file.offset) },
          { key: 'length', value: String(file.length) },
        ],
      });
      continue;
    }
    const bytes = new Uint8Array(
      initializer.data.buffer,
      initializer.data.byteOffset,
      initializer.data.byteLength,
    );
    const dims = [...initializer.shape];
    const dataType = ONNX_DATA_TYPES[initializer.dtype];
    if (options.externalData && bytes.byteLength >= threshold) {
      const padding = (64 - (offset % 64)) % 64;
      if (padding > 0) chunks.push(new Uint8Array(padding));
      offset += padding;
      chunks.push(bytes);
      initializers.push({
        name: initializer.name,
        dims,
        dataType,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: options.externalData.location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      });
      offset += bytes.byteLength;
    } else {
      initializers.push({ name: initializer.name, dims, dataType, rawData: bytes });
    }
  }
  const model: OnnxNamespace.IModelProto = {
    irVersion: 8,
    producerName: options.producerName ?? 'tunekit',
    opsetImport: [
      { domain: '', version: graph.opset },
      ...[...nodeDomains(graph)].map((domain) => ({ domain, version: 1 })),
    ],
    graph: encodeGraph(onnx, graph, nodes, initializers),
  };
  const bytes = onnx.ModelProto.encode(model).finish();
  return {
    model: bytes,
    externalData: options.externalData
      ? { location: options.externalData.location, chunks, byteLength: offset }
      : undefined,
    ...(externalFolder ? { externalFolder } : {}),
  };
}

function valueInfo(value: Value): OnnxNamespace.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPES[value.dtype],
        shape: {
          dim: value.shape.map((size) =>
            typeof size === 'number' ? { dimValue: size } : { dimParam: size },
          ),
        },
      },
    },
  };
}

function encodeGraph(
  onnx: typeof OnnxNamespace,
  graph: Graph,
  nodes: readonly GraphNode[],
  initializers: OnnxNamespace.ITensorProto[],
): OnnxNamespace.IGraphProto {
  return {
    name: graph.name,
    node: nodes.map((node) => ({
      name: node.name,
      opType: node.opType,
      domain: node.domain,
      input: node.inputs,
      output: node.outputs,
      attribute: Object.entries(node.attributes).map(([name, value]) => encodeAttribute(onnx, name, value)),
    })),
    initializer: initializers,
    input: graph.inputs.map(valueInfo),
    output: graph.outputs.map(valueInfo),
  };
}

/** The non-default operator domains of a graph's nodes and of its sub-graphs' nodes. */
function nodeDomains(graph: Graph): Set<string> {
  const domains = new Set<string>();
  for (const node of graph.nodes) {
    if (node.domain !== '') domains.add(node.domain);
    for (const body of subgraphs(node)) for (const domain of nodeDomains(body)) domains.add(domain);
  }
  return domains;
}

function subgraphs(node: GraphNode): Graph[] {
  return Object.values(node.attributes).flatMap((value) =>
    typeof value === 'object' && !Array.isArray(value) && 'graph' in value ? [value.graph] : [],
  );
}

/**
 * The nodes an output depends on, in order: a node none of whose outputs reaches a graph output
 * (e.g. the full `[tokens, vocab]` logits of a forward builder whose loss reads the head in chunks)
 * is left out of the model. Values a sub-graph reads from the outer scope count as inputs of the
 * node that holds it.
 */
export function liveNodes(graph: Graph): GraphNode[] {
  const needed = new Set(graph.outputs.map((output) => output.name));
  const live: GraphNode[] = [];
  for (let index = graph.nodes.length - 1; index >= 0; index -= 1) {
    const node = graph.nodes[index] as GraphNode;
    if (!node.outputs.some((output) => needed.has(output))) continue;
    live.push(node);
    for (const input of node.inputs) if (input !== '') needed.add(input);
    for (const body of subgraphs(node)) for (const outer of body.outerValues) needed.add(outer);
  }
  return live.reverse();
}

/**
 * Drops the `Identity` nodes that only rename a value to a graph output name (`graph.output(value,
 * name)`, e.g. every `grad.<parameter>`): the producing node writes the output name itself. Only
 * where the renamed value is produced by a node of this graph, is no other output and is read by
 * nothing else (nodes or sub-graphs), so no other name changes. Each dropped node is one node and
 * one value less for onnxruntime's session creation.
 */
function elideOutputIdentities(graph: Graph, nodes: readonly GraphNode[]): GraphNode[] {
  const outputs = new Set(graph.outputs.map((output) => output.name));
  const reads = new Map<string, number>();
  const read = (name: string) => reads.set(name, (reads.get(name) ?? 0) + 1);
  for (const node of nodes) {
    for (const input of node.inputs) if (input !== '') read(input);
    for (const body of subgraphs(node)) for (const outer of body.outerValues) read(outer);
  }
  const renamed = new Map<string, string>();
  const dropped = new Set<GraphNode>();
  for (const node of nodes) {
    const source = node.inputs[0];
    const target = node.outputs[0];
    if (node.opType !== 'Identity' || node.domain !== '' || !source || !target || !outputs.has(target))
      continue;
    if (!graph.producers.has(source) || outputs.has(source) || reads.get(source) !== 1) continue;
    renamed.set(source, target);
    dropped.add(node);
  }
  if (dropped.size === 0) return [...nodes];
  return nodes
    .filter((node) => !dropped.has(node))
    .map((node) =>
      node.outputs.some((output) => renamed.has(output))
        ? { ...node, outputs: node.outputs.map((output) => renamed.get(output) ?? output) }
        : node,
    );
}

/** Names read by the nodes (and their sub-graphs) or output by the graph. */
function usedNames(graph: Graph, nodes: readonly GraphNode[]): Set<string> {
  const used = new Set(graph.outputs.map((output) => output.name));
  for (const node of nodes) {
    for (const input of node.inputs) used.add(input);
    for (const body of subgraphs(node)) for (const outer of body.outerValues) used.add(outer);
  }
  return used;
}

function encodeAttribute(
  onnx: typeof OnnxNamespace,
  name: string,
  value: AttributeValue,
): OnnxNamespace.IAttributeProto {
  const type = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: type.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return FLOAT_ATTRIBUTES.has(name)
      ? { name, type: type.FLOAT, f: value }
      : { name, type: type.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: type.INTS, ints: value };
  if ('float' in value) return { name, type: type.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: type.FLOATS, floats: value.floats };
  if ('graph' in value) {
    const body = value.graph;
    const initializers = [...body.initializers.values()].map((initializer) => ({
      name: initializer.name,
      dims: [...initializer.shape],
      dataType: ONNX_DATA_TYPES[initializer.dtype],
      rawData: new Uint8Array(
        initializer.data.buffer,
        initializer.data.byteOffset,
        initializer.data.byteLength,
      ),
    }));
    return { name, type: type.GRAPH, g: encodeGraph(onnx, body, body.nodes, initializers) };
  }
  const data = toTensorData([value.tensor], value.dtype);
  return {
    name,
    type: type.TENSOR,
    t: {
      dims: [1],
      dataType: ONNX_DATA_TYPES[value.dtype],
      rawData: new Uint8Array(data.buffer, data.byteOffset, DATA_TYPE_SIZES[value.dtype]),
    },
  };
}

/** Total bytes of a graph's initializers (without reading lazily loaded ones). */
export function initializerBytes(graph: Graph): number {
  let total = 0;
  for (const initializer of graph.initializers.values()) {
    total += initializer.file?.length ?? initializer.data.byteLength;
  }
  return total;
}

/** Options of {@link serializeModelAuto}. */
export interface SerializeModelAutoOptions {
  /**
   * Reference lazily loaded file regions where they lie whatever the initializers' total (default
   * false: only above `threshold`). Training graphs do: an embedded model is copied by onnxruntime
   * and its session gets the default pre-packing and memory pattern (measured on `scaling-small` at
   * vocabulary 32,000: peak RSS 855 MB embedded, 496 MB referenced).
   */
  referenceFilesAtAnySize?: boolean;
}

/**
 * Serializes with embedded weights when the initializers stay within `threshold` bytes (default
 * 1.5 GiB, under onnxruntime's 2 GB limit for embedded models). Above it (or at any size with
 * `referenceFilesAtAnySize`): when the initializers that are not lazily loaded file regions (see
 * `fileBackedTensor`) fit within `threshold`, the file regions are referenced where they lie
 * (`referenceFiles`: no copy, `externalFolder` is set) and the rest is embedded; otherwise every
 * initializer of min(1 MiB, max(threshold, 1 KiB)) bytes or more goes to external data named
 * `model.onnx.data` (small constants stay embedded: shape inference reads them).
 */
export function serializeModelAuto(
  graph: Graph,
  threshold = 1.5 * 2 ** 30,
  options: SerializeModelAutoOptions = {},
): SerializedModel {
  const total = initializerBytes(graph);
  if (total <= threshold && !options.referenceFilesAtAnySize) return serializeModel(graph);
  let folder: string | undefined;
  let referenced = 0;
  for (const initializer of graph.initializers.values()) {
    const file = initializer.dtype === 'float32' ? initializer.file : undefined;
    if (!file || (folder ?? dirname(file.path)) !== dirname(file.path)) continue;
    folder = dirname(file.path);
    referenced += file.length;
  }
  if (referenced > 0 && total - referenced <= threshold)
    return serializeModel(graph, { referenceFiles: true });
  if (total <= threshold) return serializeModel(graph);
  return serializeModel(graph, {
    externalData: {
      location: 'model.onnx.data',
      threshold: Math.min(1 << 20, Math.max(threshold, 1024)),
    },
  });
}

/**
 * Writes serialized model bytes (and their external data, chunk by chunk) to `directory/model.onnx`
 * and returns the path, from which onnxruntime opens the session in milliseconds. A model that
 * references files of an `externalFolder` gets copies of those files beside it.
 */
export async function saveSerializedModel(serialized: SerializedModel, directory: string): Promise<string> {
  const { open, mkdir } = await import('node:fs/promises');
  await mkdir(directory, { recursive: true });
  const modelPath = join(directory, 'model.onnx');
  await writeFile(modelPath, serialized.model);
  if (serialized.externalFolder) {
    for (const location of referencedLocations(serialized.model)) {
      await copyFile(join(serialized.externalFolder, location), join(directory, location));
    }
  }
  if (serialized.externalData) {
    const handle = await open(join(directory, serialized.externalData.location), 'w');
    try {
      for (const chunk of serialized.externalData.chunks) await handle.write(chunk);
    } finally {
      await handle.close();
    }
  }
  return modelPath;
}

/**
 * Writes a model to `directory/fileName`, with initializers above the threshold in
 * `fileName + '.data'` (written chunk by chunk: Node refuses single buffers above 2 GiB).
 * Returns the model path to give onnxruntime.
 */
export async function saveModel(
  graph: Graph,
  directory: string,
  fileName = 'model.onnx',
  threshold = 1 << 20,
): Promise<string> {
  const { open } = await import('node:fs/promises');
  const serialized = serializeModel(graph, { externalData: { location: `${fileName}.data`, threshold } });
  const modelPath = join(directory, fileName);
  await writeFile(modelPath, serialized.model);
  const handle = await open(join(directory, `${fileName}.data`), 'w');
  try {
    for (const chunk of serialized.externalData?.chunks ?? []) await handle.write(chunk);
  } finally {
    await handle.close();
  }
  return modelPath;
}

/** The external data file names a serialized model's initializers reference. */
function referencedLocations(model: Uint8Array): Set<string> {
  const decoded = onnxProto().ModelProto.decode(model);
  const locations = new Set<string>();
  for (const initializer of decoded.graph?.initializer ?? []) {
    for (const entry of initializer.externalData ?? []) {
      if (entry.key === 'location' && entry.value) locations.add(entry.value);
    }
  }
  return locations;
}
