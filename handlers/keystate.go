package handlers

import (
	"keydesk/store"
	"keydesk/views"
)

// keyStatusView is a key's effective state (store.EffectiveState) as the
// pages show it.
func keyStatusView(st store.KeyState) views.KeyStatus {
	return views.KeyStatus{Code: string(st), Label: st.Label(), Works: st.Works()}
}
