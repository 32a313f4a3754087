export { Adapter, type AdapterTransaction, type AdapterOptions } from './adapter';
export type { AdapterInstruction, AdapterInstructionType, AdapterValue, AdapterPropertyDescription, Identity } from './instructions';
export { AdapterTranslator } from './translate';
