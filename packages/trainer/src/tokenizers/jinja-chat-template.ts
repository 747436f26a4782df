import { Template } from '@huggingface/jinja';
import { tunekitError } from '@tunekit/core';
import type { ChatFormatter, ChatMessage, TextSegment } from '../data/training-row.js';

/** Options of {@link createJinjaChatFormatter}: the template and the variables it may read. */
export interface JinjaChatTemplateOptions {
  /** `chat_template` from `tokenizer_config.json`. */
  template: string;
  /** Special-token strings the template reads (`bos_token`, `eos_token` …). */
  specialTokens?: Partial<Record<'bos_token' | 'eos_token' | 'pad_token' | 'unk_token', string>>;
  /** Extra variables (`tools`, `date_string` …). */
  variables?: Record<string, unknown>;
}

/** A Jinja chat template with its render function and the training formatter built from it. */
export interface JinjaChatTemplate {
  /** Renders messages as the model is served (`addGenerationPrompt` appends the assistant header). */
  render(messages: readonly ChatMessage[], addGenerationPrompt?: boolean): string;
  /** Prompt text for generation: the messages and the assistant header. */
  prompt(messages: readonly ChatMessage[]): string;
  /** Segments for training: loss on assistant turns only (their content and end marker). */
  formatter: ChatFormatter;
}

const templateError = (message: string, details: Record<string, unknown> = {}, cause?: unknown) =>
  tunekitError('CHAT_TEMPLATE_INVALID', message, details, { cause });

/**
 * Compiles a Hugging Face chat template with `@huggingface/jinja`. The training formatter renders
 * growing prefixes of the conversation: for each assistant message, the text up to
 * `render(messages before it, add_generation_prompt=true)` is context (labels −100) and the rest up to
 * `render(messages through it)` is trained, so the model learns the content and the template's own
 * end-of-turn marker (`<|im_end|>`, `<|eot_id|>` …) with exactly the served formatting. The
 * pipeline appends no extra end-of-sequence tokens after such turns. A template whose renderings are
 * not prefixes of each other fails with `CHAT_TEMPLATE_INVALID`.
 */
export function createJinjaChatFormatter(options: JinjaChatTemplateOptions): JinjaChatTemplate {
  let template: Template;
  try {
    template = new Template(options.template);
  } catch (error) {
    throw templateError(`The chat template does not parse: ${(error as Error).message}`, {}, error);
  }
  const render = (messages: readonly ChatMessage[], addGenerationPrompt = false): string => {
    try {
      return template.render({
        ...options.variables,
        ...options.specialTokens,
        messages,
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (error) {
      throw templateError(
        `The chat template failed to render: ${(error as Error).message}`,
        { roles: messages.map((message) => message.role) },
        error,
      );
    }
  };
  const cut = (text: string, prefix: string, what: string): string => {
    if (!text.startsWith(prefix)) {
      throw templateError(
        `The chat template is not prefix-stable (${what} does not extend the earlier rendering), so assistant turns cannot be located`,
        { expectedPrefix: prefix.slice(-80), actual: text.slice(0, prefix.length).slice(-80) },
      );
    }
    return text.slice(prefix.length);
  };
  const formatter: ChatFormatter = (messages) => {
    const segments: TextSegment[] = [];
    let rendered = '';
    messages.forEach((message, index) => {
      if (message.role !== 'assistant') return;
      const prompt = render(messages.slice(0, index), true);
      const context = cut(prompt, rendered, 'the generation prompt');
      if (context) segments.push({ text: context, train: false });
      const full = render(messages.slice(0, index + 1));
      segments.push({ text: cut(full, prompt, `assistant message ${index}`), train: true });
      rendered = full;
    });
    const rest = cut(render(messages), rendered, 'the whole conversation');
    if (rest) segments.push({ text: rest, train: false });
    return segments;
  };
  formatter.includesEndTokens = true;
  return { render, prompt: (messages) => render(messages, true), formatter };
}
