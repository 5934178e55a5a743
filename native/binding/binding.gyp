{
  "targets": [
    {
      "target_name": "ztnc_binding",
      "sources": [
        "src/binding.cc",
        "src/checksum.cc",
        "src/crypto.cc",
        "src/errno-error.cc",
        "src/fd.cc",
        "src/fd-watcher.cc",
        "src/ping.cc",
        "src/process.cc",
        "src/seqpacket.cc",
        "src/tap.cc",
        "src/udp.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags_cc": [
        "-O2",
        "-Wall",
        "-std=c++17"
      ]
    }
  ]
}
