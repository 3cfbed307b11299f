-- One database per service, so each service owns its data and its DSN.
-- The postgres image runs this once, on an empty data directory, as
-- POSTGRES_USER (guildhall), which therefore owns the databases.
CREATE DATABASE membership;
CREATE DATABASE roadmap;
CREATE DATABASE finance;
CREATE DATABASE events;
