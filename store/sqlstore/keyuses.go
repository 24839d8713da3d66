package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"keydesk/store"
)

// dayMillis is a UTC day in milliseconds; key_use_days counts days since
// 1970-01-01.
const dayMillis = int64(24 * time.Hour / time.Millisecond)

// RecordKeyUses writes a batch of uses in one transaction: the detailed
// uses (keeping the last store.RecentUses of each key), the day tallies
// added to what is stored, the Last Used of the calls that set it (as
// TouchKey does, stale after store.LastUsedEvery), and the previous
// secrets' Last Used. Uses of a key deleted since are skipped.
func (db *DB) RecordKeyUses(ctx context.Context, b *store.UseBatch) error {
	if b.Empty() {
		return nil
	}
	// The keys with uses, and those past the batch's bound whose calls
	// still set Last Used.
	ids := slices.Collect(maps.Keys(b.Uses))
	for id := range b.LastUsed {
		if _, ok := b.Uses[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var touched []int64 // keys whose Last Used was written
	err := db.quietTx(ctx, func(tx *txn) error {
		touched = touched[:0]
		// A previous secret's use shows on the key's row during its
		// overlap; the recent uses show only on the key's own page, which
		// is rendered anew every time.
		tx.shown = len(b.PreviousUsed) > 0
		live, err := readLiveKeys(ctx, tx, ids)
		if err != nil {
			return err
		}
		// In key order, as the keys' rows below, and for the same reason.
		days := slices.SortedFunc(maps.Keys(b.Tallies), func(a, b store.KeyDay) int {
			return cmp.Or(cmp.Compare(a.KeyID, b.KeyID), a.Day.Compare(b.Day))
		})
		days = slices.DeleteFunc(days, func(kd store.KeyDay) bool { return !live.has(kd.KeyID) })
		used := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return !live.has(id) || len(b.Uses[id]) == 0 })
		if bs := db.d.Batch; bs != nil {
			err = db.writeUsesSetwise(ctx, tx, bs, used, days, b)
		} else {
			err = writeUsesEach(ctx, tx, used, days, b)
		}
		if err != nil {
			return err
		}
		// The keys' rows are updated in one pass in key order, so that two
		// instances' batches lock them in the same order and neither waits
		// on the other in a cycle.
		for _, id := range ids {
			neverUsed, ok := live[id]
			if !ok {
				continue
			}
			if use, ok := b.LastUsed[id]; ok {
				wrote, err := touchKey(ctx, tx, id, neverUsed, use.IP, use.At, use.At.Add(-store.LastUsedEvery))
				if err != nil {
					return err
				}
				if wrote {
					touched = append(touched, id)
				}
			}
			if used, ok := b.PreviousUsed[id]; ok {
				if _, err := tx.ExecRepeated(ctx, `UPDATE api_keys SET prev_last_used_at = ?
					WHERE id = ? AND prev_last4 = ? AND (prev_last_used_at IS NULL OR prev_last_used_at < ?)`,
					millis(used.At), id, used.Last4, millis(used.At)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record key uses: %w", err)
	}
	for id := range b.PreviousUsed {
		db.forgetKey(id)
	}
	for _, id := range touched {
		db.forgetKey(id)
	}
	return nil
}

// writeUsesEach writes the recent uses of the keys used (in key order)
// and the day tallies a statement each, prepared once for them all: on
// SQLite, which runs in the process, a statement costs no round trip.
func writeUsesEach(ctx context.Context, tx *txn, used []int64, days []store.KeyDay, b *store.UseBatch) error {
	for _, id := range used {
		for _, u := range b.Recent(id) {
			if _, err := tx.ExecRepeated(ctx, `INSERT INTO key_uses (key_id, at, client_ip, user_agent, route, result)
				VALUES (?, ?, ?, ?, ?, ?)`, id, millis(u.At), u.ClientIP, u.UserAgent, u.Route, u.Result); err != nil {
				return err
			}
		}
		if _, err := tx.ExecRepeated(ctx, `DELETE FROM key_uses WHERE key_id = ? AND id NOT IN
			(SELECT id FROM key_uses WHERE key_id = ? ORDER BY at DESC, id DESC LIMIT ?)`,
			id, id, store.RecentUses); err != nil {
			return err
		}
	}
	for _, kd := range days {
		t := b.Tallies[kd]
		if _, err := tx.ExecRepeated(ctx, `INSERT INTO key_use_days (key_id, day, ok, refused) VALUES (?, ?, ?, ?)
			ON CONFLICT (key_id, day) DO UPDATE SET
				ok = key_use_days.ok + excluded.ok, refused = key_use_days.refused + excluded.refused`,
			kd.KeyID, millis(kd.Day)/dayMillis, t.OK, t.Refused); err != nil {
			return err
		}
	}
	return nil
}

// writeUsesSetwise writes the same in three statements, whatever the
// batch holds, each taking its rows as arrays (Dialect.Batch): on
// PostgreSQL a statement a use was a round trip a use, and a second of
// 15,000 calls took four seconds to write.
func (db *DB) writeUsesSetwise(ctx context.Context, tx *txn, bs *BatchSQL, used []int64, days []store.KeyDay, b *store.UseBatch) error {
	var (
		keyIDs, ats                  []int64
		ips, agents, routes, results []string
	)
	for _, id := range used {
		for _, u := range b.Recent(id) {
			keyIDs, ats = append(keyIDs, id), append(ats, millis(u.At))
			ips, agents = append(ips, db.text(u.ClientIP)), append(agents, db.text(u.UserAgent))
			routes, results = append(routes, db.text(u.Route)), append(results, db.text(u.Result))
		}
	}
	if len(used) > 0 {
		if _, err := tx.Exec(ctx, bs.InsertUses, keyIDs, ats, ips, agents, routes, results); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, bs.TrimUses, used, store.RecentUses); err != nil {
			return err
		}
	}
	if len(days) == 0 {
		return nil
	}
	dayKeys, dayNums, oks, refused := make([]int64, len(days)), make([]int64, len(days)), make([]int64, len(days)), make([]int64, len(days))
	for i, kd := range days {
		t := b.Tallies[kd]
		dayKeys[i], dayNums[i], oks[i], refused[i] = kd.KeyID, millis(kd.Day)/dayMillis, int64(t.OK), int64(t.Refused)
	}
	_, err := tx.Exec(ctx, bs.AddTallies, dayKeys, dayNums, oks, refused)
	return err
}

// liveKeys are the keys of a batch that still exist, each with whether it
// has no Last Used yet.
type liveKeys map[int64]bool

func (l liveKeys) has(id int64) bool {
	_, ok := l[id]
	return ok
}

// readLiveKeys reads the liveKeys of ids in the batch's transaction, so
// that touchKey needs no read of its own to know a key's first use.
func readLiveKeys(ctx context.Context, tx *txn, ids []int64) (liveKeys, error) {
	live := liveKeys{}
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := tx.Query(ctx, `SELECT id, last_used_at IS NULL FROM api_keys WHERE id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var neverUsed bool
			if err := rows.Scan(&id, &neverUsed); err != nil {
				rows.Close()
				return nil, err
			}
			live[id] = neverUsed
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// placeholders is "?, ?, …", n of them.
func placeholders(n int) string {
	b := make([]byte, 0, 3*n)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}

// RecentKeyUses are the key's last calls, newest first, at most
// store.RecentUses.
func (db *DB) RecentKeyUses(ctx context.Context, keyID int64) ([]store.KeyUse, error) {
	rows, err := db.query(ctx, `SELECT at, client_ip, user_agent, route, result FROM key_uses
		WHERE key_id = ? ORDER BY at DESC, id DESC LIMIT ?`, keyID, store.RecentUses)
	if err != nil {
		return nil, fmt.Errorf("recent key uses: %w", err)
	}
	defer rows.Close()
	var out []store.KeyUse
	for rows.Next() {
		u := store.KeyUse{KeyID: keyID}
		var at int64
		if err := rows.Scan(&at, &u.ClientIP, &u.UserAgent, &u.Route, &u.Result); err != nil {
			return nil, fmt.Errorf("recent key uses: %w", err)
		}
		u.At = fromMillis(at)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent key uses: %w", err)
	}
	return out, nil
}

// KeyUseDays are the key's calls per UTC day from since's day to now's,
// one entry a day, oldest first, days without calls included.
func (db *DB) KeyUseDays(ctx context.Context, keyID int64, since, now time.Time) ([]store.KeyUseDay, error) {
	first, last := millis(since)/dayMillis, millis(now)/dayMillis
	rows, err := db.query(ctx, `SELECT day, ok, refused FROM key_use_days
		WHERE key_id = ? AND day >= ? AND day <= ?`, keyID, first, last)
	if err != nil {
		return nil, fmt.Errorf("key use days: %w", err)
	}
	defer rows.Close()
	out := make([]store.KeyUseDay, last-first+1)
	for i := range out {
		out[i].Day = fromMillis((first + int64(i)) * dayMillis)
	}
	for rows.Next() {
		var day int64
		var ok, refused int
		if err := rows.Scan(&day, &ok, &refused); err != nil {
			return nil, fmt.Errorf("key use days: %w", err)
		}
		out[day-first].OK, out[day-first].Refused = ok, refused
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("key use days: %w", err)
	}
	return out, nil
}

// PruneKeyUses drops the recorded uses, and the day tallies, older than
// before.
func (db *DB) PruneKeyUses(ctx context.Context, before time.Time) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `DELETE FROM key_uses WHERE at < ?`, millis(before)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM key_use_days WHERE day < ?`, millis(before)/dayMillis)
		return err
	})
	if err != nil {
		return fmt.Errorf("prune key uses: %w", err)
	}
	return nil
}
