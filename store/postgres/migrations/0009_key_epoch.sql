-- The change count that lets each instance cache keys (sqlstore.Epoch):
-- every write to a key or an account takes a value before it begins and
-- after it commits; every instance reads last_value to know whether what it
-- cached still stands. A sequence, not a row: nextval takes no lock and is
-- never rolled back, so writers do not queue on it, and a bump before the
-- commit is seen at once. The first value is taken here so that last_value
-- moves with every later nextval.
CREATE SEQUENCE key_epoch;
SELECT nextval('key_epoch');
