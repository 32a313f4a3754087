export type { LoadProgress } from '../kit/load-progress';
