import type { PostgresConnectorConfig } from '../../connectors/postgres';

/**
 * Pagila (a DVD-rental business nobody here wrote) behind realms: the catalog in one realm, each
 * store's customers, staff, inventory, rentals and payments in /pagila/store/<store_id>.
 * Environment: PAGILA_URL (a database loaded with pagila-schema.sql and pagila-data.sql),
 * TRIBUTARY_URL (default realm://127.0.0.1:9080), TRIBUTARY_ADMIN_TOKEN_FILE (default
 * ./data/keys/admin.json).
 */
const store = (type: string) => ({ type, realm: '/pagila/store/{store_id}' });

const config: PostgresConnectorConfig = {
  name: 'pagila',
  database: process.env.PAGILA_URL ?? 'postgres://postgres@127.0.0.1:5432/pagila',
  serverUrl: process.env.TRIBUTARY_URL ?? 'realm://127.0.0.1:9080',
  adminTokenFile: process.env.TRIBUTARY_ADMIN_TOKEN_FILE ?? './data/keys/admin.json',
  localPath: './pagila-connector',
  realm: '/pagila/catalog',
  tables: {
    actor: { type: 'Actor' },
    category: { type: 'Category' },
    language: { type: 'Language' },
    film: { type: 'Film' },
    film_actor: { type: 'FilmActor' },
    film_category: { type: 'FilmCategory' },
    country: { type: 'Country' },
    city: { type: 'City' },
    address: { type: 'Address' },
    store: store('Store'),
    staff: { ...store('Staff'), columns: { password: false } },
    customer: store('Customer'),
    inventory: store('Inventory'),
    rental: { type: 'Rental', realm: { follow: 'inventory_id' } },
    payment: { type: 'Payment', realm: { follow: 'rental_id' }, primaryKey: 'payment_id' },
  },
};

export default config;
