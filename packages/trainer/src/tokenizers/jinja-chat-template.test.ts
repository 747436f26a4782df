import { TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX, tokenizeRow } from '../data/prepare-sequences.js';
import { createByteLevelTokenizer } from './byte-level-tokenizer.js';
import { createJinjaChatFormatter } from './jinja-chat-template.js';

// Qwen2's ChatML template (default system message when none is given), as in its tokenizer_config.json.
const chatMl = `{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}{%- for message in messages %}{%- if not (message.role == 'system' and loop.first) %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}`;

// Llama-2 style: reads bos_token/eos_token, puts the system prompt inside the first [INST].
const llama2 = `{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}`;

const conversation = [
  { role: 'user' as const, content: 'Hi' },
  { role: 'assistant' as const, content: 'Hello!' },
  { role: 'user' as const, content: 'Bye' },
  { role: 'assistant' as const, content: 'See you.' },
];

describe('Jinja chat templates', () => {
  it('ChatML: renders like Hugging Face and trains only the assistant contents with <|im_end|>', () => {
    const template = createJinjaChatFormatter({ template: chatMl });
    expect(template.prompt(conversation.slice(0, 1))).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    const segments = template.formatter(conversation);
    expect(segments.filter((segment) => segment.train).map((segment) => segment.text)).toEqual([
      'Hello!<|im_end|>\n',
      'See you.<|im_end|>\n',
    ]);
    expect(segments.map((segment) => segment.text).join('')).toBe(template.render(conversation));
    expect(template.formatter.includesEndTokens).toBe(true);

    const tokenizer = createByteLevelTokenizer({ specialTokens: ['<|im_start|>', '<|im_end|>'] });
    const sequence = tokenizeRow({ messages: conversation }, tokenizer, template.formatter);
    // No extra end-of-sequence ids: the template's own markers end the turns.
    expect(sequence.inputIds).toEqual(tokenizer.encode(template.render(conversation)));
    const trained = sequence.inputIds.filter((_, index) => sequence.labels[index] !== IGNORE_INDEX);
    expect(tokenizer.decode(trained, { skipSpecialTokens: false })).toBe(
      'Hello!<|im_end|>\nSee you.<|im_end|>\n',
    );
  });

  it('Llama-2 style with bos/eos variables: the assistant text and </s> are trained, [INST] blocks are not', () => {
    const template = createJinjaChatFormatter({
      template: llama2,
      specialTokens: { bos_token: '<s>', eos_token: '</s>' },
    });
    const segments = template.formatter(conversation);
    expect(segments).toEqual([
      { text: '<s>[INST] Hi [/INST]', train: false },
      { text: ' Hello! </s>', train: true },
      { text: '<s>[INST] Bye [/INST]', train: false },
      { text: ' See you. </s>', train: true },
    ]);
  });

  it('a template that is not prefix-stable or does not parse fails with CHAT_TEMPLATE_INVALID', () => {
    const unstable = createJinjaChatFormatter({
      template: `{{ messages | length }}{% for m in messages %}{{ m.content }}{% endfor %}`,
    });
    for (const attempt of [
      () => unstable.formatter(conversation),
      () => createJinjaChatFormatter({ template: '{% for %}' }),
    ]) {
      try {
        attempt();
        expect.unreachable();
      } catch (error) {
        expect(TunekitError.isInstance(error) && error.code).toBe('CHAT_TEMPLATE_INVALID');
      }
    }
  });
});
