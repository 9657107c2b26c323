// Package index is the EFS file index: a file that lists every entry of a
// file system tree (name bytes exactly, type, size, mode, owner, times,
// inode and link count, symlink target) so that admins can list, search and
// follow the history of files across restore points without mounting them.
//
// # Format
//
// An index is one object: a header, zstd-compressed blocks of entries sorted
// by key, a compressed footer and a fixed trailer. The footer holds the
// metadata (file system id, restore point ARN, backup and index creation
// times, walk errors) and the block index: for each block its length, raw
// length, entry count, CRC-32C and first key. A reader fetches the trailer
// and footer (one suffix-range GET on S3), then only the blocks a request
// needs; the CRCs, the key order and the counts are all checked, so a
// damaged or truncated index is an error (ErrCorrupt), never wrong rows.
//
// Keys are the parent path, a separator below every name byte, and the name
// (see key.go): a directory's immediate children are one contiguous range,
// and the whole table is in depth-first order with siblings sorted bytewise.
// That is the order in which package walk can emit a tree while holding only
// a bounded read-ahead, so the writer streams without an external sort.
//
// Blocks are columnar (all names, then all sizes, ...), with names
// prefix-compressed and times, owners and inodes delta-coded, which is what
// makes an index smaller than zstd of a plain find listing.
//
// # Sharing between restore points
//
// Successive restore points of one file system differ in few entries, and
// those are scattered across the tree: with 1% of files changed at random,
// most fixed-size blocks hold a change, so sharing blocks between indexes
// (content-defined or not) would share almost nothing. Instead an index can
// be a delta over a full base index: it stores only the entries that differ
// (and tombstones for removed ones), and readers merge it with the base on
// the fly, key range by key range. A delta is always written against a full
// index, never against another delta, so a read touches at most two objects
// and losing one delta loses nothing else. The delta names its base by
// location (relative to its own) and by the base's ID (a hash of its
// footer), and a reader refuses a base with another ID. Whoever deletes
// indexes must keep a full index while deltas refer to it (Info.Base), and
// should write a new full index when a delta grows past a fraction of its
// base (walk.Build takes the base as an option; the caller decides).
//
// Entries whose ctime is later than the backup's creation time are flagged
// ChangedAfterBackup on read: the index is made from the live file system
// after the backup, so such an entry may differ from the restore point.
package index
