// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "Settle",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "LedgerAPI", targets: ["LedgerAPI"]),
        .executable(name: "settle", targets: ["Settle"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        .target(
            name: "Ledger",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [
                .embedInCode("Schema/v1_ledger.sql"),
                .embedInCode("Schema/v2_post_transfers.sql"),
                .embedInCode("Schema/v3_balance_at.sql"),
                .embedInCode("Schema/v4_api_keys.sql"),
                .embedInCode("Schema/v5_rails.sql"),
                .embedInCode("Schema/v6_x402.sql"),
                .embedInCode("Schema/v7_fast_path.sql"),
                .embedInCode("Schema/v8_authority.sql"),
                .embedInCode("Schema/v9_reconciliation.sql"),
                .embedInCode("Schema/v10_scheduler.sql"),
                .embedInCode("Schema/v11_mpp.sql"),
                .embedInCode("Schema/v12_mpp_sessions.sql"),
                .embedInCode("Schema/v16_mpp_voucher_commit.sql"),
                .embedInCode("Schema/v17_x402_batch.sql"),
                .embedInCode("Schema/v18_conditional_transfers.sql"),
                .embedInCode("Schema/v19_hash_chain.sql"),
                .embedInCode("Schema/v20_x402_follow.sql"),
                .embedInCode("Schema/v21_linear_checks.sql"),
                .embedInCode("Schema/v23_x402_batch_generations.sql"),
                .embedInCode("Schema/v24_outbox.sql"),
                .embedInCode("Schema/v25_partitions.sql"),
                .embedInCode("Schema/v27_event_retention.sql"),
                .embedInCode("Schema/v28_balancing_holds_and_bounds.sql"),
                .embedInCode("Schema/v30_webhook_scopes.sql"),
            ],
            swiftSettings: swiftSettings
        ),
        // Scheduled jobs with leases in PostgreSQL: cron schedules, catch-up, run history, the worker service.
        .target(
            name: "Scheduler",
            dependencies: [
                "Ledger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SchedulerTests",
            dependencies: [
                "Scheduler", "Ledger", "SettleTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LocalPostgres",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Timestamps",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TimestampsTests",
            dependencies: ["Timestamps"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerAPI",
            dependencies: [
                "Ledger", "Reconciliation", "Timestamps",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.embedInCode("Resources/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Webhooks",
            dependencies: [
                "Ledger", "LedgerAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebhooksTests",
            dependencies: [
                "Webhooks", "Ledger", "SettleTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RailKit",
            dependencies: [
                "Ledger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Reconciliation",
            dependencies: [
                "Ledger", "RailKit", "Timestamps",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReconciliationTests",
            dependencies: [
                "Reconciliation", "RailKit", "Ledger", "SettleTesting", "CardRail", "CardMock",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RailKitTests",
            dependencies: [
                "RailKit", "Ledger", "SettleTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CardRail",
            dependencies: [
                "RailKit", "Ledger",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Plugins/CardRail",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CardRailTests",
            dependencies: [
                "CardRail", "CardMock", "RailKit", "Ledger", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the rails of EVM chains share: the watched addresses' token balances at a past
        // block, for their opening transfers and the drift check.
        .target(
            name: "EVMRailKit",
            dependencies: ["RailKit", "Ledger", "EVM"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ERC20Rail",
            dependencies: [
                "RailKit", "Ledger", "EVM", "EVMRailKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Plugins/ERC20Rail",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ERC20RailTests",
            dependencies: [
                "ERC20Rail", "DevChain", "EVM", "Ledger", "RailKit", "Reconciliation", "SettleTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TempoRail",
            dependencies: [
                "RailKit", "Ledger", "EVM", "EVMRailKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Plugins/TempoRail",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TempoRailTests",
            dependencies: [
                "TempoRail", "DevChain", "EVM", "Ledger", "RailKit", "SettleTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SandboxTests",
            dependencies: [
                "SettleTesting", "Ledger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HTTPLoad",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The parts `settle sandbox` and `settle demo` compose: dev chains, card processor mock, ledger API,
        // merchant server with every offer, rails and their watchers; and the demo's agents.
        .target(
            name: "SettleStack",
            dependencies: [
                "Ledger", "LedgerAPI", "EVM", "RailKit", "CardRail", "ERC20Rail", "TempoRail", "CardMock", "DevChain", "X402", "Paywall",
                "MPP", "MPPTempo", "MPPStripe", "MPPEVM", "MPPSession", "Reconciliation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Settle",
            dependencies: [
                "Ledger", "EVM", "CSecp256k1",
                "LedgerAPI", "Timestamps", "Webhooks",
                "LocalPostgres",
                "HTTPLoad",
                "RailKit",
                "Reconciliation",
                "CardRail",
                "ERC20Rail",
                "TempoRail",
                "CardMock",
                "DevChain",
                "X402",
                "Paywall",
                "MPP",
                "MPPTempo",
                "MPPStripe",
                "MPPEVM",
                "Scheduler",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                "MPPSession",
                "SettleStack",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LocalPostgresTests",
            dependencies: ["LocalPostgres", "SettleTesting"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SettleTesting",
            dependencies: [
                "Ledger", "LocalPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SettleTesting",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerAPITests",
            dependencies: [
                "Ledger", "LedgerAPI", "LocalPostgres", "SettleTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPLoadTests",
            dependencies: [
                "HTTPLoad", "SettleTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // libsecp256k1 (Debian libsecp256k1-dev) with its recovery module.
        .systemLibrary(
            name: "CSecp256k1",
            pkgConfig: "libsecp256k1",
            providers: [.apt(["libsecp256k1-dev"])]
        ),
        .target(
            name: "EVM",
            dependencies: [
                "CSecp256k1",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EVMTests",
            dependencies: [
                "EVM", "CSecp256k1", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // The eth-account and pytempo oracles, run by EthAccountInteropTests and TempoInteropTests.
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CardMock",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CardMockTests",
            dependencies: [
                "CardMock", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The stripe-python end-to-end script, run by StripePythonTests.
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DevChain",
            dependencies: [
                "EVM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DevChainTests",
            dependencies: [
                "DevChain", "EVM", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The eth-account end-to-end script, run by EthAccountDevChainTests.
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        // What every payment middleware (x402, MPP) shares: which requests are priced, decided by
        // the router's own match.
        .target(
            name: "Paywall",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "X402",
            dependencies: [
                "EVM", "Ledger", "RailKit", "Paywall",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "X402Tests",
            dependencies: [
                "X402", "Paywall", "MPP", "EVM", "DevChain", "Ledger", "RailKit", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            // The official x402 Python client script, run by PythonClientTests.
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        // The `Payment` HTTP authentication scheme (MPP): challenges bound by HMAC, credentials,
        // receipts and problem documents, on JCS and base64url.
        .target(
            name: "MPP",
            dependencies: [
                "Paywall", "Timestamps",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // MPP's `tempo/charge`: TIP-20 transfers bound to their challenge by memo.
        .target(
            name: "MPPTempo",
            dependencies: [
                "MPP", "EVM", "Ledger", "RailKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MPPTempoTests",
            dependencies: [
                "MPPTempo", "MPP", "Paywall", "EVM", "DevChain", "Ledger", "RailKit", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MPPTests",
            dependencies: [
                "MPP", "Paywall", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            // The pympp oracle script, run by PymppInteropTests.
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        // What the MPP method tests share: a paid route behind MPPMiddleware, and the pympp runner.
        .target(
            name: "MPPTesting",
            dependencies: [
                "MPP", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/MPPTesting",
            swiftSettings: swiftSettings
        ),
        // MPP's `stripe/charge`: a shared payment token confirms a PaymentIntent through the card rail.
        .target(
            name: "MPPStripe",
            dependencies: [
                "MPP", "CardRail", "RailKit", "Ledger",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MPPStripeTests",
            dependencies: [
                "MPPStripe", "MPP", "MPPTesting", "CardRail", "CardMock", "RailKit", "Ledger", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The pympp client script, run by StripeChargeInteropTests.
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        // MPP's `evm/charge`: an EIP-3009 authorization verified and settled by the x402 facilitator.
        .target(
            name: "MPPEVM",
            dependencies: [
                "MPP", "X402", "EVM", "Ledger",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MPPEVMTests",
            dependencies: [
                "MPPEVM", "MPP", "MPPTesting", "X402", "EVM", "DevChain", "Ledger", "RailKit", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The pympp client script, run by EVMChargeInteropTests.
            exclude: ["Interop"],
            swiftSettings: swiftSettings
        ),
        // MPP's tempo/session: payment channels on Tempo's escrows, vouchers checked with one
        // signature recovery, persisted and booked in group-committed batches, settled in bulk.
        .target(
            name: "MPPSession",
            dependencies: [
                "MPP", "EVM", "Ledger", "RailKit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MPPSessionTests",
            dependencies: [
                "MPPSession", "MPP", "EVM", "DevChain", "Ledger", "RailKit", "TempoRail", "Paywall", "SettleTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger", "LocalPostgres", "SettleTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
