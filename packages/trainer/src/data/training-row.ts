import { z } from 'zod';

/** One chat message. */
export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
});
/** One chat message. */
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/** A plain text row: loss on every token. */
export const TextRowSchema = z.object({ text: z.string().min(1) });
/** A prompt/completion row: loss on the completion only (prompt labels are -100). */
export const PromptCompletionRowSchema = z.object({ prompt: z.string(), completion: z.string().min(1) });
/** A chat row: loss on assistant messages only. */
export const ChatRowSchema = z.object({ messages: z.array(ChatMessageSchema).min(1) });

/** A row of a training or validation dataset: text, prompt/completion or chat. */
export const TrainingRowSchema = z.union([TextRowSchema, PromptCompletionRowSchema, ChatRowSchema]);
/** A row of a training or validation dataset. */
export type TrainingRow = z.infer<typeof TrainingRowSchema>;

/** A piece of text and whether the model is trained to predict it. */
export interface TextSegment {
  text: string;
  /** True: its tokens carry labels; false: labels are -100 (context only). */
  train: boolean;
}

/**
 * Turns chat messages into segments. The default ({@link simpleChatTemplate}) is a plain role
 * template; a Jinja chat template from `tokenizer_config.json` can replace it.
 */
export interface ChatFormatter {
  (messages: ChatMessage[]): TextSegment[];
  /**
   * True when the segments already hold the template's end-of-turn markers (Jinja chat templates):
   * the pipeline then appends no end-of-sequence token after assistant turns or the conversation.
   */
  includesEndTokens?: boolean;
}

/**
 * The built-in chat template: `### User:\n…\n\n### Assistant:\n…` with loss on the assistant
 * contents (and the end-of-sequence token the pipeline appends after each of them).
 */
export const simpleChatTemplate: ChatFormatter = (messages) => {
  const segments: TextSegment[] = [];
  for (const message of messages) {
    const header = `### ${message.role[0]?.toUpperCase()}${message.role.slice(1)}:\n`;
    if (message.role === 'assistant') {
      segments.push({ text: header, train: false }, { text: message.content, train: true });
    } else {
      segments.push({ text: `${header}${message.content}\n\n`, train: false });
    }
  }
  return segments;
};

/** The text a model sees as a generation prompt for chat messages under {@link simpleChatTemplate}. */
export function simpleChatPrompt(messages: ChatMessage[]): string {
  return `${simpleChatTemplate(messages)
    .map((segment) => segment.text)
    .join('')}### Assistant:\n`;
}
