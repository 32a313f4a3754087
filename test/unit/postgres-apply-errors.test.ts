import { classifyApplyError } from '../../connectors/postgres/errors';
import { TributaryError } from '../../src/errors';

const sql = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

test('every SQLSTATE class has a kind: transient, refused, configuration, or failed (never a stall)', () => {
  const kinds = (codes: string[]) => Object.fromEntries(codes.map((c) => [c, classifyApplyError(sql(c))]));
  expect(kinds(['08006', '08003', '53300', '53100', '57P01', '57P03', '40001', '40P01', '55P03', '55006', '57014', '58030'])).toEqual(
    Object.fromEntries(['08006', '08003', '53300', '53100', '57P01', '57P03', '40001', '40P01', '55P03', '55006', '57014', '58030'].map((c) => [c, 'transient'])),
  );
  expect(kinds(['23505', '23503', '23502', '23514', '22001', '22003', '22P02', '21000', '27000', '09000', '2F005', '38001', '39P01', '44000', '54000', 'P0001', 'P0004', '428C9'])).toEqual(
    Object.fromEntries(['23505', '23503', '23502', '23514', '22001', '22003', '22P02', '21000', '27000', '09000', '2F005', '38001', '39P01', '44000', '54000', 'P0001', 'P0004', '428C9'].map((c) => [c, 'refused'])),
  );
  expect(kinds(['28000', '28P01', '3D000', '3F000', '42501', '42P01', '42703', '42704', '42883', '42809', '25006', '0A000', '55000', '57P04'])).toEqual(
    Object.fromEntries(['28000', '28P01', '3D000', '3F000', '42501', '42P01', '42703', '42704', '42883', '42809', '25006', '0A000', '55000', '57P04'].map((c) => [c, 'configuration'])),
  );
  expect(kinds(['42601', '42701', '42804', 'XX000', 'XX001', '08P01', 'HV000', 'F0000'])).toEqual(
    Object.fromEntries(['42601', '42701', '42804', 'XX000', 'XX001', '08P01', 'HV000', 'F0000'].map((c) => [c, 'failed'])),
  );
});

test('coded errors by code, network errors by errno, anything uncoded is a permanent failure', () => {
  expect(classifyApplyError(new TributaryError('OBJECT_INVALIDATED', 'Accessing object of type Team which has been deleted'))).toBe('race');
  expect(classifyApplyError(new TributaryError('CONNECTOR_SOURCE_UNAVAILABLE', 'barrier timed out'))).toBe('transient');
  expect(classifyApplyError(new TributaryError('CONNECTOR_SOURCE_FAILED', 'wrapped', { cause: sql('42501') }))).toBe('configuration');
  expect(classifyApplyError(new TributaryError('CONNECTOR_MAPPING_INVALID', 'integer 1e300 is outside the range'))).toBe('failed');
  expect(classifyApplyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('transient');
  expect(classifyApplyError(new Error('Connection terminated unexpectedly'))).toBe('transient');
  expect(classifyApplyError(new TypeError('x is not a function'))).toBe('failed');
  // A message never decides: an error that merely says "deleted" is not a race.
  expect(classifyApplyError(new Error('Accessing object of type Team which has been deleted'))).toBe('failed');
});
