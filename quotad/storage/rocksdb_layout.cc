#include "quotad/storage/rocksdb_layout.h"

#include "quotad/storage/keys.h"
#include "quotad/storage/rocksdb_callbacks.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace quotad {

RocksDbLayout MakeRocksDbLayout(const RocksDbOptions& options, Clock* deletion_clock,
                                std::shared_ptr<const SharedRetention> retention) {
  RocksDbLayout layout;
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto make_table = [&](bool whole_key) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = whole_key;
    // Filters and indexes live with the table readers, not in the block
    // cache: with them in a 64 MiB cache, a miss on a new client re-read and
    // re-checksummed multi-MiB filter blocks (seen at 10M clients). They cost
    // ~1.3 bytes per key of memory.
    table.cache_index_and_filter_blocks = false;
    table.optimize_filters_for_memory = true;
    return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));
  };

  rocksdb::DBOptions& db_options = layout.db;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.info_log = NewRocksDbLogger();  // no LOG file on the data disk
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  db_options.max_total_wal_size = 256 << 20;
  // quotad group-commits its own writes (one writer at a time), so
  // concurrent memtable inserts buy nothing; turning them off allows the
  // hash-indexed memtables below, whose inserts are O(1) instead of a
  // cache-missing skiplist search (the top RocksDB cost in profiles).
  db_options.allow_concurrent_memtable_write = false;

  rocksdb::ColumnFamilyOptions counters;
  counters.merge_operator = NewUInt64AddOperator();
  counters.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(CounterId::kEncodedSize));
  counters.memtable_prefix_bloom_size_ratio = 0.05;
  // One hash bucket per counter, holding that counter's few (hour, origin,
  // kind) entries in a short sorted list. Measured against the hash-skiplist
  // rep: -10% CPU per admitted call (Debian builds RocksDB with assertions,
  // so every skiplist insert also runs a full Contains() search).
  counters.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 20));
  counters.table_factory = make_table(false);
  counters.compression = rocksdb::kLZ4Compression;
  counters.bottommost_compression = rocksdb::kZSTD;
  layout.filters.push_back(NewCounterRetentionFilter(deletion_clock, std::move(retention)));
  counters.compaction_filter = layout.filters.back().get();

  rocksdb::ColumnFamilyOptions idempotency;
  idempotency.table_factory = make_table(true);
  idempotency.memtable_whole_key_filtering = true;
  idempotency.memtable_prefix_bloom_size_ratio = 0.05;
  // Point lookups only: a hash-linked-list memtable keyed by the whole key.
  idempotency.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
  idempotency.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 20));
  idempotency.compression = rocksdb::kLZ4Compression;
  layout.filters.push_back(NewIdempotencyExpiryFilter(deletion_clock));
  idempotency.compaction_filter = layout.filters.back().get();

  rocksdb::ColumnFamilyOptions records;
  records.table_factory = make_table(true);
  layout.filters.push_back(NewRecordExpiryFilter(deletion_clock, options.expired_record_ttl));
  records.compaction_filter = layout.filters.back().get();

  rocksdb::ColumnFamilyOptions audit;
  audit.table_factory = make_table(true);
  layout.filters.push_back(NewAuditRetentionFilter(deletion_clock, options.audit_retention));
  audit.compaction_filter = layout.filters.back().get();

  layout.column_families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"counters", counters},
      {"idempotency", idempotency},
      {"records", records},
      {"audit", audit}};
  return layout;
}

}  // namespace quotad
