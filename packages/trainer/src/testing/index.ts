/**
 * `@tunekit/trainer/testing`: fixtures for tests of code built on the trainer (a tiny GPT-2 folder
 * with its byte-level tokenizer, trained in seconds on a CPU).
 *
 * @module @tunekit/trainer/testing
 */
export { createTinyGpt2 } from './create-tiny-gpt2.js';
