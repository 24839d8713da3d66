-- The count of the quiet writes pages show (sqlstore.WithPageEpoch): an
-- audit event, a key's first use, a previous secret's use. Rendered pages are
-- cached under key_epoch's last_value plus this one's, so that a change
-- made through any instance retires every copy at once. As 0009's, the
-- first value is taken here so that last_value moves with every nextval.
CREATE SEQUENCE page_epoch;
SELECT nextval('page_epoch');
