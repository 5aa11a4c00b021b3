{
  # The WAL core (wal/, no N-API) and its node-addon-api glue (addon/). -O2, C++17.
  # Set POWERCUT_SANITIZE=1 (scripts/native-sanitize.sh does) to build with ASan + UBSan into
  # native/build-asan. POWERCUT_PLANT=<name> (scripts/build-planted.sh, never the shipped build)
  # compiles in one planted bug of plants.json; an unknown name fails the build.
  "variables": {
    "sanitize%": "<!(node -p \"process.env.POWERCUT_SANITIZE === '1' ? 1 : 0\")",
    "plant%": "<!(node -p \"const n = process.env.POWERCUT_PLANT || ''; if (n && !require('./plants.json').plants.some((p) => p.name === n)) throw new Error('POWERCUT_PLANT: unknown plant ' + n); n\")",
    "plant_define%": "<!(node -p \"(process.env.POWERCUT_PLANT || '').toUpperCase().replace(/-/g, '_')\")"
  },
  "target_defaults": {
    "cflags!": ["-fno-exceptions", "-O3", "-Os"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y", "-std=c++14"],
    "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
    "cflags_cc": ["-std=c++17", "-fexceptions"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
    "conditions": [
      ["plant!=''", {
        "defines": ["POWERCUT_PLANT_<(plant_define)", "POWERCUT_PLANT_NAME=\"<(plant)\""]
      }],
      ["sanitize==1", {
        "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-fno-sanitize-recover=undefined"],
        "ldflags": ["-fsanitize=address,undefined"]
      }]
    ]
  },
  "targets": [
    {
      # The only code built with -msse4.2; crc32c.cc calls it only after a cpuid check.
      "target_name": "crc32c_sse42",
      "type": "static_library",
      "sources": ["wal/crc32c_sse42.cc"],
      "cflags": ["-fPIC"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", { "cflags": ["-msse4.2"] }]
      ]
    },
    {
      "target_name": "powercut_wal",
      "dependencies": ["crc32c_sse42"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": [
        "wal/crc32c.cc",
        "wal/status.cc",
        "wal/segment.cc",
        "wal/first_seq.cc",
        "wal/spare_pool.cc",
        "wal/staging.cc",
        "wal/recovery.cc",
        "wal/log.cc",
        "wal/committer.cc",
        "wal/committer_group.cc",
        "dm/dm-message.cc",
        "dm/publish-marks.cc",
        "addon/errors.cc",
        "addon/native-wal.cc",
        "addon/addon.cc"
      ]
    },
    {
      # dm-log-writes marks from native code (issue 6): native/dm has no N-API include.
      "target_name": "powercut_dm",
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": ["dm/dm-message.cc", "addon/dm-message.cc"]
    },
    {
      # Loop mounts by syscall for crash-state checking on the host (issue 15): no process per mount.
      "target_name": "powercut_mount",
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": ["dm/loop-mount.cc", "addon/loop-mount.cc"]
    }
  ]
}
