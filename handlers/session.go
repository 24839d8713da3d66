package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"keydesk/store"
)

// Session values the application reads. The user id and the last-seen time
// always come from the session's row, never from the encoded data.
const (
	valUserID   = "uid"
	valLastSeen = "seen" // Unix milliseconds
)

// valUser is the key of the session's user, read with the session in the
// same statement, among the session's values for the rest of the request.
// It is never stored (encodeValues).
type valUser struct{}

// sessionUser is the account of a session that New loaded (disabled or
// not: the caller judges), or nil for a new session.
func sessionUser(session *sessions.Session) *store.User {
	u, _ := session.Values[valUser{}].(*store.User)
	return u
}

// sessionStore is a gorilla/sessions Store that keeps sessions on the server.
// The cookie holds only a random 256-bit session id, signed with the current
// key (securecookie, so a forged cookie is refused without a query); the
// database holds the SHA-256 of that id, the user, and the other values.
// Deleting the row ends the session everywhere: a copied cookie is useless
// after logout, a password change or an admin action.
type sessionStore struct {
	db       Store
	codecs   []securecookie.Codec
	handles  []byte // the key of sessionHandle
	options  sessions.Options
	idle     time.Duration // a session unused this long is over
	absolute time.Duration // and none outlives this
}

func newSessionStore(db Store, keys [][]byte, secure bool, idle, absolute time.Duration) *sessionStore {
	codecs := make([]securecookie.Codec, 0, len(keys))
	for _, k := range keys {
		c := securecookie.New(k, nil)
		c.MaxAge(int(absolute.Seconds()))
		codecs = append(codecs, c)
	}
	return &sessionStore{
		db:      db,
		codecs:  codecs,
		handles: handleKey(keys[0]),
		options: sessions.Options{
			Path:     "/",
			MaxAge:   int(absolute.Seconds()),
			Secure:   secure,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		},
		idle:     idle,
		absolute: absolute,
	}
}

// cookieName is the session cookie's name. Over HTTPS it takes the __Host-
// prefix, which browsers only accept from a secure origin, for the whole
// host, with no Domain: no subdomain can plant or shadow it.
func (s *sessionStore) cookieName() string {
	if s.options.Secure {
		return "__Host-keydesk"
	}
	return "keydesk_session"
}

// Get returns the request's session, cached for the rest of the request.
func (s *sessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, and its user in
// the same query, or returns a new, empty one when there is no valid, live
// session. It errs only when the database fails, so that an outage is a
// 5xx and never a sign-out.
func (s *sessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := s.options
	session.Options = &opts
	session.IsNew = true

	cookie, err := r.Cookie(name)
	if err != nil {
		return session, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, cookie.Value, &id, s.codecs...); err != nil {
		return session, nil
	}
	row, user, err := s.db.SessionWithUser(r.Context(), hashSessionID(id))
	if errors.Is(err, store.ErrNotFound) {
		return session, nil
	}
	if err != nil {
		return session, err
	}
	now := s.db.Now()
	if now.After(row.ExpiresAt) || now.Sub(row.LastSeenAt) > s.idle {
		return session, nil
	}
	if len(row.Data) > 0 {
		if err := (securecookie.GobEncoder{}).Deserialize(row.Data, &session.Values); err != nil {
			return session, fmt.Errorf("session data: %w", err)
		}
	}
	session.ID = id
	session.IsNew = false
	session.Values[valUserID] = row.UserID
	session.Values[valLastSeen] = row.LastSeenAt.UnixMilli()
	session.Values[valUser{}] = user
	return session, nil
}

// Save writes the session's values and sets its cookie; a session whose
// MaxAge is negative is deleted and its cookie cleared. A new session must
// carry valUserID: there are no anonymous sessions.
func (s *sessionStore) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	if session.Options.MaxAge < 0 {
		if session.ID != "" {
			if err := s.db.DeleteSession(r.Context(), hashSessionID(session.ID), store.AuditEvent{}); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(session.Name(), "", session.Options))
		return nil
	}

	data, err := encodeValues(session.Values)
	if err != nil {
		return fmt.Errorf("session data: %w", err)
	}
	if session.ID == "" {
		userID, ok := session.Values[valUserID].(int64)
		if !ok {
			return errors.New("save session: a new session needs a user")
		}
		session.ID = newSessionID()
		row := &store.Session{
			IDHash:    hashSessionID(session.ID),
			UserID:    userID,
			Data:      data,
			IP:        clientIP(r),
			UserAgent: r.UserAgent(),
			ExpiresAt: s.db.Now().Add(s.absolute),
		}
		if err := s.db.CreateSession(r.Context(), row, store.AuditEvent{}); err != nil {
			return err
		}
	} else if err := s.db.UpdateSessionData(r.Context(), hashSessionID(session.ID), data); err != nil {
		return err
	}

	encoded, err := securecookie.EncodeMulti(session.Name(), session.ID, s.codecs...)
	if err != nil {
		return fmt.Errorf("encode session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), encoded, session.Options))
	return nil
}

// encodeValues is the session's values as its row's data keeps them. The
// user id and the last-seen time are the row's own columns, which New puts
// back among the values, and the user is read with the row: none of them
// is stored. A session holding nothing else, which is every session but
// one carrying a notice to the next page, stores no data, and loading it
// decodes nothing: gob builds its decoder anew for each session's data,
// which cost a signed-in request more CPU time than its query. What data
// there is stays gob, so a session written before, ids and all, still
// loads the same.
func encodeValues(values map[any]any) ([]byte, error) {
	kept := make(map[any]any, len(values))
	for k, v := range values {
		switch k {
		case valUserID, valLastSeen, valUser{}:
			continue
		}
		kept[k] = v
	}
	if len(kept) == 0 {
		return nil, nil
	}
	return (securecookie.GobEncoder{}).Serialize(kept)
}

// handleKey derives, from the newest session signing key, the key that
// names sessions in pages. A key of its own (HMAC of a fixed label) means a
// handle can never double as a cookie signature.
func handleKey(signing []byte) []byte {
	m := hmac.New(sha256.New, signing)
	m.Write([]byte("keydesk session handle"))
	return m.Sum(nil)
}

// handle is how a page names a session, for signing it out on its own: an
// HMAC of the stored id hash under a server secret, so the page and the
// URL carry nothing from which the session id, or its stored hash, could
// be learned, and no one can make a handle for a session they did not see
// listed. It is stable while the newest signing key is (every instance
// agrees); after a key rotation an old page's handle names nothing.
func (s *sessionStore) handle(idHash string) string {
	m := hmac.New(sha256.New, s.handles)
	m.Write([]byte(idHash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// newSessionID returns 256 random bits, URL-safe.
func newSessionID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSessionID is the form in which a session id is stored and looked up.
func hashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// clientIP is the request's client address as the server's IP extractor
// judged it (proxy headers count only from configured proxies).
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(ctxClientIP{}).(string); ok {
		return ip
	}
	return ""
}
