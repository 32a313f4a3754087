-- The legacy order database of the example (SQL Server 2016 or later; the scripted test server too).
-- Change Tracking on the database and snapshot isolation are turned on by demo.ts when missing:
--   ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
--   ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON;
CREATE TABLE dbo.legacy_customer (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, name nvarchar(100) NOT NULL, region char(2) NOT NULL, rv rowversion);
CREATE TABLE dbo.legacy_order (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, customer_id int NOT NULL, region char(2) NOT NULL, placed datetime2(3) NOT NULL, status nvarchar(20) NOT NULL, note nvarchar(max) NULL,
  CONSTRAINT FK_legacy_order_customer FOREIGN KEY (customer_id) REFERENCES dbo.legacy_customer (id));
CREATE TABLE dbo.legacy_order_line (order_id int NOT NULL, line_no int NOT NULL, sku nvarchar(20) NOT NULL, qty int NOT NULL, price money NOT NULL, total AS (qty * price),
  CONSTRAINT PK_legacy_order_line PRIMARY KEY (order_id, line_no),
  CONSTRAINT FK_legacy_order_line_order FOREIGN KEY (order_id) REFERENCES dbo.legacy_order (id) ON DELETE CASCADE);
ALTER TABLE dbo.legacy_customer ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
ALTER TABLE dbo.legacy_order ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
ALTER TABLE dbo.legacy_order_line ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
INSERT INTO dbo.legacy_customer (name, region) VALUES (N'Ann Example', 'EU'), (N'Bob Example', 'US'), (N'Chloé Example', 'EU');
INSERT INTO dbo.legacy_order (customer_id, region, placed, status) VALUES (1, 'EU', '2024-03-01T10:00:00', N'shipped'), (2, 'US', '2024-03-02T11:30:00', N'open'), (3, 'EU', '2024-03-03T09:15:00', N'open');
INSERT INTO dbo.legacy_order_line (order_id, line_no, sku, qty, price) VALUES (1, 1, N'BOLT-10', 100, 0.12), (1, 2, N'NUT-10', 100, 0.05), (2, 1, N'GEAR-3', 2, 14.90), (3, 1, N'SPRING-7', 12, 1.25), (3, 2, N'BOLT-10', 40, 0.12);
