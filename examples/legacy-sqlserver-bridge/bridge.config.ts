import type { SqlServerConnectorConfig } from '../../connectors/sqlserver';

/**
 * The bridge's mapping: one realm per sales region, `/shop/<region>`, holding that region's
 * customers and orders (placed by their `region` column) and each order's lines (following their
 * order). Order lines have a composite primary key (order_id, line_no): their realm key is the
 * `key` property, `'<order_id>|<line_no>'` (compositeKey([orderId, lineNo])). `rv` (rowversion)
 * and `total` (computed) are read-only: filled by SQL Server, never written.
 */
export const mapping: Pick<SqlServerConnectorConfig, 'tables'> = {
  tables: {
    legacy_customer: { type: 'Customer', realm: '/shop/{region}' },
    legacy_order: { type: 'Order', realm: '/shop/{region}' },
    legacy_order_line: { type: 'OrderLine', realm: { follow: 'order_id' } },
  },
};

export default mapping;
