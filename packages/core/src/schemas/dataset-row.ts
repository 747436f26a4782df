import { z } from 'zod';

/** How the rows of a dataset are shaped. */
export const RowFormatSchema = z.enum(['text', 'classification', 'prompt-completion', 'chat', 'preference']);
/** How the rows of a dataset are shaped. */
export type RowFormat = z.infer<typeof RowFormatSchema>;

/** One chat message (the same shape the trainer reads). */
export const ChatMessageRowSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
});
/** One chat message. */
export type ChatMessageRow = z.infer<typeof ChatMessageRowSchema>;

/** `{ text }`: language-model text, loss on every token. Extra fields are kept as metadata. */
export const TextRowSchema = z.looseObject({ text: z.string().min(1, 'text must not be empty') });
/** A text row. */
export type TextRow = z.infer<typeof TextRowSchema>;

/** `{ text, label }`: text classification; the label is a non-empty string or an integer class id. */
export const ClassificationRowSchema = z.looseObject({
  text: z.string().min(1, 'text must not be empty'),
  label: z.union([z.string().min(1, 'label must not be empty'), z.number().int()]),
});
/** A classification row. */
export type ClassificationRow = z.infer<typeof ClassificationRowSchema>;

/** `{ prompt, completion }`: supervised fine-tuning with loss on the completion. */
export const PromptCompletionRowSchema = z.looseObject({
  prompt: z.string(),
  completion: z.string().min(1, 'completion must not be empty'),
});
/** A prompt/completion row. */
export type PromptCompletionRow = z.infer<typeof PromptCompletionRowSchema>;

/** `{ messages: [{ role, content }] }`: a chat transcript with at least one assistant message. */
export const ChatRowSchema = z.looseObject({
  messages: z
    .array(ChatMessageRowSchema)
    .min(1, 'messages must not be empty')
    .refine((messages) => messages.some((message) => message.role === 'assistant'), {
      message: 'messages must contain an assistant message',
    }),
});
/** A chat row. */
export type ChatRow = z.infer<typeof ChatRowSchema>;

/** `{ prompt, chosen, rejected }`: a preference pair for DPO-style tuning. */
export const PreferenceRowSchema = z
  .looseObject({
    prompt: z.string(),
    chosen: z.string().min(1, 'chosen must not be empty'),
    rejected: z.string().min(1, 'rejected must not be empty'),
  })
  .refine((row) => row.chosen !== row.rejected, {
    message: 'chosen and rejected must differ',
    path: ['rejected'],
  });
/** A preference row. */
export type PreferenceRow = z.infer<typeof PreferenceRowSchema>;

/** Any dataset row. */
export type DatasetRow = TextRow | ClassificationRow | PromptCompletionRow | ChatRow | PreferenceRow;

/** The zod schema of each row format. */
export const RowSchemas = {
  text: TextRowSchema,
  classification: ClassificationRowSchema,
  'prompt-completion': PromptCompletionRowSchema,
  chat: ChatRowSchema,
  preference: PreferenceRowSchema,
} as const satisfies Record<RowFormat, z.ZodType>;
