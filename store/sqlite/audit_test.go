package sqlite

import (
	"context"
	"strings"
	"testing"
)

// A key's history is read from the (target, at, id) index, in its order:
// SQLite's plan for the shape of AuditLog's key filter searches that index
// and sorts nothing. (PostgreSQL's rows read are measured in
// store/postgres's TestKeyHistoryReadsItsEvents.)
func TestKeyHistoryUsesItsIndex(t *testing.T) {
	db, _ := openTestDB(t)
	write, _ := db.Pools()
	rows, err := write.QueryContext(context.Background(), `EXPLAIN QUERY PLAN
		SELECT e.id FROM audit_events AS e LEFT JOIN users AS s ON s.id = e.subject_id
			LEFT JOIN users AS a ON a.id = e.actor_id LEFT JOIN api_keys AS k ON k.public_id = e.target
		WHERE e.target = ? AND (e.at, e.id) < (?, ?) ORDER BY e.at DESC, e.id DESC LIMIT 51`, "key_x", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "USING INDEX audit_events_target") && !strings.Contains(all, "USING COVERING INDEX audit_events_target") {
		t.Errorf("the history does not search audit_events_target:\n%s", all)
	}
	if strings.Contains(all, "TEMP B-TREE") {
		t.Errorf("the history sorts its rows instead of reading them in the index's order:\n%s", all)
	}
}
