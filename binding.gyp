{
  "targets": [
    {
      "target_name": "strata_native",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/syscalls.cc",
        "native/copy-data.cc",
        "native/copy-up.cc",
        "native/fuse-session.cc",
        "native/js-requests.cc",
        "native/js-ops.cc",
        "native/js-replies.cc",
        "native/fast-nodes.cc",
        "native/entry-index.cc",
        "native/data-ops.cc",
        "native/attr-rules.cc",
        "native/passthrough.cc",
        "native/lower-opens.cc",
        "native/dir-opens.cc",
        "native/pause-gate.cc",
        "native/process-exit.cc",
        "native/exec-in-root.cc",
        "native/container-syscalls.cc",
        "native/enter-process.cc",
        "native/pty-relay.cc",
        "native/spare.cc",
        "native/spare-key.cc",
        "native/spare-wire.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE", "FUSE_USE_VERSION=312"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wno-unused-parameter", "<!@(pkg-config --cflags fuse3)"],
      "libraries": ["<!@(pkg-config --libs fuse3)", "<!@(pkg-config --libs libseccomp)", "-lpthread"]
    },
    {
      "target_name": "strata-nsexec",
      "type": "executable",
      "sources": ["native/nsexec-main.cc", "native/enter-process.cc", "native/pty-relay.cc"],
      "defines": ["_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wno-unused-parameter"]
    },
    {
      "target_name": "strata",
      "type": "executable",
      "sources": ["native/launcher-main.cc", "native/spare-key.cc", "native/spare-wire.cc"],
      "defines": ["_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wno-unused-parameter"],
      "ldflags": ["-static-libstdc++", "-static-libgcc"]
    }
  ]
}
