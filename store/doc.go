// Package store is YMERA's persistence: the records it keeps (users, agents,
// tasks, projects, submissions, files and their versions), the repository
// interfaces that reach them, and the errors those return.
//
// Two backends implement the same interfaces: store/postgres on pgx/v5 for
// production and store/sqlite on the pure-Go modernc.org/sqlite as the
// embedded default. One contract suite (store/storetest) runs against both, so
// they cannot drift apart. Each backend embeds its own goose migrations.
//
// Task state changes are conditional: a transition names the state (and the
// lease) it expects, and a redelivered or late message that no longer matches
// changes nothing. That is what turns JetStream's at-least-once delivery into
// exactly-once effects.
package store
