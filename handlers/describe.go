package handlers

// pageDescriptions are the pages' <meta name="description">, by title: a
// sentence that says what the page is for, as a search result or a shared
// link would show it. A page whose title is not here (a key's own page, an
// error page) gets its sentence where it is built.
var pageDescriptions = map[string]string{
	"Log in":           "Log in to Keydesk to manage your account and your API Auth Keys.",
	"Sign up":          "Create a Keydesk account to get API Auth Keys for the platform.",
	"Personal Details": "Your Keydesk account: your name, password, KALP ID, KYC status and where you are signed in.",
	"API Auth Key":     "Create, enable, disable, edit, regenerate and delete the API Auth Keys your programs use.",
	"Key inventory":    "Every user's API Auth Keys, to search, sort, filter, export and disable.",
	"Disable keys":     "Confirm disabling the selected API Auth Keys of other users.",
	"Users":            "Every Keydesk account, with its role, KYC status and whether it is disabled.",
	"Audit log":        "Who did what in Keydesk, and when and from where: sign-ins, password changes and every key action.",
}

// keyPageDescription is a key's own page's description.
func keyPageDescription(name string) string {
	return "The API Auth Key “" + name + "”: its details, permissions and recent use."
}
