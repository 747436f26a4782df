/**
 * `@tunekit/core/statistics`: the numerical helpers behind A/B results, dataset comparison and
 * bootstrap intervals (distributions, hypothesis tests, special functions, proportion intervals,
 * double-double sums, FNV-1a hashing, a seeded random generator). Exported for power users and
 * other Tunekit packages; applications use `kit.abTests.results(...)` and `kit.datasets.compare(...)`.
 *
 * @module @tunekit/core/statistics
 */

export { type DoubleDouble, DoubleDoubleSchema } from '../ab-tests/double-double.js';
export { fnv1a32, growthBookHashV2, hashBucketV2 } from '../ab-tests/fnv1a.js';
export {
  type BinaryIntervalMethod,
  newcombeDifferenceInterval,
  type ProportionCount,
  wilsonScoreInterval,
} from '../ab-tests/proportion-intervals.js';
export {
  type BootstrapOptions,
  bootstrapIndices,
  percentileInterval,
  quantileSorted,
} from './bootstrap.js';
export {
  chiSquareSurvival,
  normalCdf,
  normalQuantile,
  normalSurvival,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedPValue,
} from './distributions.js';
export {
  binomialTestHalf,
  type ChiSquareResult,
  chiSquareGoodnessOfFit,
  type Interval,
  type McNemarResult,
  mcNemarTest,
  meanConfidenceInterval,
  proportionConfidenceInterval,
  type SampleSummary,
  summarize,
  type TwoSampleTestResult,
  twoProportionZTest,
  welchTTest,
} from './hypothesis-tests.js';
export { createSeededRandom, SeededRandom, shuffleInPlace } from './seeded-random.js';
export {
  logGamma,
  regularizedGammaP,
  regularizedGammaQ,
  regularizedIncompleteBeta,
} from './special-functions.js';
