/**
 * The Adapter's instruction stream (API.md §4): what realm-js's `Adapter.current(path)` returned.
 * Every instruction has `type` and `object_type`. Values are numbers, booleans, strings, `null`,
 * `Date`, `ArrayBuffer` (binary), or for links the target's identity.
 */
export type AdapterValue = number | boolean | string | null | Date | ArrayBuffer;

/** An object's identity: its primary key (ObjectId / UUID keys as strings), or for a type
 * without a primary key the object's stable key string. */
export type Identity = number | string;

export type AdapterPropertyDescription =
  | { type: string; nullable: boolean }
  | { type: 'object'; object_type: string; nullable: true }
  | { type: 'list'; object_type: string; nullable?: boolean };

export type AdapterInstruction =
  | { type: 'INSERT'; object_type: string; identity: Identity; values: Record<string, AdapterValue> }
  | { type: 'SET'; object_type: string; identity: Identity; values: Record<string, AdapterValue> }
  | { type: 'DELETE'; object_type: string; identity: Identity }
  | { type: 'CLEAR'; object_type: string }
  | { type: 'LIST_SET'; object_type: string; identity: Identity; property: string; list_index: number; object_identity?: Identity | null; value?: AdapterValue }
  | { type: 'LIST_INSERT'; object_type: string; identity: Identity; property: string; list_index: number; object_identity?: Identity | null; value?: AdapterValue }
  | { type: 'LIST_ERASE'; object_type: string; identity: Identity; property: string; list_index: number }
  | { type: 'LIST_MOVE'; object_type: string; identity: Identity; property: string; list_index: number; new_index: number }
  | { type: 'LIST_CLEAR'; object_type: string; identity: Identity; property: string }
  | { type: 'ADD_TYPE'; object_type: string; primary_key: string | null; properties: Record<string, AdapterPropertyDescription> }
  | { type: 'ADD_PROPERTIES'; object_type: string; properties: Record<string, AdapterPropertyDescription> }
  | { type: 'ADD_INTEGER'; object_type: string; identity: Identity; property: string; value: number }
  | { type: 'CHANGE_IDENTITY'; object_type: string; identity: Identity; new_identity: Identity };

export type AdapterInstructionType = AdapterInstruction['type'];
