using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Octavia.Data.Migrations.MySql
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterDatabase()
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "amphora_health",
                columns: table => new
                {
                    amphora_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    last_update = table.Column<DateTime>(type: "datetime(6)", nullable: false),
                    busy = table.Column<bool>(type: "tinyint(1)", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_amphora_health", x => x.amphora_id);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "availability_zone_profile",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    provider_name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    availability_zone_data = table.Column<string>(type: "varchar(4096)", maxLength: 4096, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_availability_zone_profile", x => x.id);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "flavor_profile",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    provider_name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    flavor_data = table.Column<string>(type: "varchar(4096)", maxLength: 4096, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_flavor_profile", x => x.id);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "listener_statistics",
                columns: table => new
                {
                    listener_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    amphora_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    bytes_in = table.Column<long>(type: "bigint", nullable: false),
                    bytes_out = table.Column<long>(type: "bigint", nullable: false),
                    active_connections = table.Column<int>(type: "int", nullable: false),
                    total_connections = table.Column<long>(type: "bigint", nullable: false),
                    request_errors = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_listener_statistics", x => new { x.listener_id, x.amphora_id });
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "load_balancer",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    description = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    topology = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    server_group_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    provider = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    flavor_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    availability_zone = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    provisioning_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    operating_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_load_balancer", x => x.id);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "quotas",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    health_monitor = table.Column<int>(type: "int", nullable: true),
                    listener = table.Column<int>(type: "int", nullable: true),
                    load_balancer = table.Column<int>(type: "int", nullable: true),
                    member = table.Column<int>(type: "int", nullable: true),
                    pool = table.Column<int>(type: "int", nullable: true),
                    l7policy = table.Column<int>(type: "int", nullable: true),
                    l7rule = table.Column<int>(type: "int", nullable: true),
                    in_use_health_monitor = table.Column<int>(type: "int", nullable: true),
                    in_use_listener = table.Column<int>(type: "int", nullable: true),
                    in_use_load_balancer = table.Column<int>(type: "int", nullable: true),
                    in_use_member = table.Column<int>(type: "int", nullable: true),
                    in_use_pool = table.Column<int>(type: "int", nullable: true),
                    in_use_l7policy = table.Column<int>(type: "int", nullable: true),
                    in_use_l7rule = table.Column<int>(type: "int", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_quotas", x => x.project_id);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "availability_zone",
                columns: table => new
                {
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    description = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    availability_zone_profile_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_availability_zone", x => x.name);
                    table.ForeignKey(
                        name: "FK_availability_zone_availability_zone_profile_availability_zon~",
                        column: x => x.availability_zone_profile_id,
                        principalTable: "availability_zone_profile",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "flavor",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    description = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    flavor_profile_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_flavor", x => x.id);
                    table.ForeignKey(
                        name: "FK_flavor_flavor_profile_flavor_profile_id",
                        column: x => x.flavor_profile_id,
                        principalTable: "flavor_profile",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "additional_vip",
                columns: table => new
                {
                    load_balancer_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    subnet_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    ip_address = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    port_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    network_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_additional_vip", x => new { x.load_balancer_id, x.subnet_id });
                    table.ForeignKey(
                        name: "FK_additional_vip_load_balancer_load_balancer_id",
                        column: x => x.load_balancer_id,
                        principalTable: "load_balancer",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "amphora",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    load_balancer_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    compute_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    lb_network_ip = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    vrrp_ip = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    ha_ip = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    vrrp_port_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    ha_port_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    cert_expiration = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    cert_busy = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    role = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    status = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    vrrp_interface = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: true),
                    vrrp_id = table.Column<int>(type: "int", nullable: true),
                    vrrp_priority = table.Column<int>(type: "int", nullable: true),
                    cached_zone = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    image_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    compute_flavor = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_amphora", x => x.id);
                    table.ForeignKey(
                        name: "FK_amphora_load_balancer_load_balancer_id",
                        column: x => x.load_balancer_id,
                        principalTable: "load_balancer",
                        principalColumn: "id",
                        onDelete: ReferentialAction.SetNull);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "pool",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    description = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    protocol = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    lb_algorithm = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    load_balancer_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    tls_certificate_id = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    ca_tls_certificate_id = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    crl_container_id = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    tls_enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    tls_ciphers = table.Column<string>(type: "varchar(2048)", maxLength: 2048, nullable: true),
                    tls_versions = table.Column<string>(type: "varchar(512)", maxLength: 512, nullable: true),
                    alpn_protocols = table.Column<string>(type: "varchar(512)", maxLength: 512, nullable: true),
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    provisioning_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    operating_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pool", x => x.id);
                    table.ForeignKey(
                        name: "FK_pool_load_balancer_load_balancer_id",
                        column: x => x.load_balancer_id,
                        principalTable: "load_balancer",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "vip",
                columns: table => new
                {
                    load_balancer_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    ip_address = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    port_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    subnet_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    network_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    qos_policy_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    octavia_owned = table.Column<bool>(type: "tinyint(1)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_vip", x => x.load_balancer_id);
                    table.ForeignKey(
                        name: "FK_vip_load_balancer_load_balancer_id",
                        column: x => x.load_balancer_id,
                        principalTable: "load_balancer",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "vrrp_group",
                columns: table => new
                {
                    load_balancer_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    vrrp_group_name = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    vrrp_auth_type = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: true),
                    vrrp_auth_pass = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    advert_int = table.Column<int>(type: "int", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_vrrp_group", x => x.load_balancer_id);
                    table.ForeignKey(
                        name: "FK_vrrp_group_load_balancer_load_balancer_id",
                        column: x => x.load_balancer_id,
                        principalTable: "load_balancer",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "health_monitor",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    type = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    pool_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    delay = table.Column<int>(type: "int", nullable: false),
                    timeout = table.Column<int>(type: "int", nullable: false),
                    fall_threshold = table.Column<int>(type: "int", nullable: false),
                    rise_threshold = table.Column<int>(type: "int", nullable: false),
                    http_method = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: true),
                    url_path = table.Column<string>(type: "varchar(2048)", maxLength: 2048, nullable: true),
                    expected_codes = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    http_version = table.Column<double>(type: "double", nullable: true),
                    domain_name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    provisioning_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    operating_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_health_monitor", x => x.id);
                    table.ForeignKey(
                        name: "FK_health_monitor_pool_pool_id",
                        column: x => x.pool_id,
                        principalTable: "pool",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "listener",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    description = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    protocol = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    protocol_port = table.Column<int>(type: "int", nullable: false),
                    connection_limit = table.Column<int>(type: "int", nullable: true),
                    load_balancer_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    tls_certificate_id = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    default_pool_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    peer_port = table.Column<int>(type: "int", nullable: true),
                    insert_headers = table.Column<string>(type: "longtext", nullable: true),
                    timeout_client_data = table.Column<int>(type: "int", nullable: true),
                    timeout_member_connect = table.Column<int>(type: "int", nullable: true),
                    timeout_member_data = table.Column<int>(type: "int", nullable: true),
                    timeout_tcp_inspect = table.Column<int>(type: "int", nullable: true),
                    client_ca_tls_certificate_id = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    client_authentication = table.Column<string>(type: "varchar(10)", maxLength: 10, nullable: false),
                    client_crl_container_id = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    tls_ciphers = table.Column<string>(type: "varchar(2048)", maxLength: 2048, nullable: true),
                    tls_versions = table.Column<string>(type: "varchar(512)", maxLength: 512, nullable: true),
                    alpn_protocols = table.Column<string>(type: "varchar(512)", maxLength: 512, nullable: true),
                    hsts_max_age = table.Column<int>(type: "int", nullable: true),
                    hsts_include_subdomains = table.Column<bool>(type: "tinyint(1)", nullable: true),
                    hsts_preload = table.Column<bool>(type: "tinyint(1)", nullable: true),
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    provisioning_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    operating_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_listener", x => x.id);
                    table.ForeignKey(
                        name: "FK_listener_load_balancer_load_balancer_id",
                        column: x => x.load_balancer_id,
                        principalTable: "load_balancer",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_listener_pool_default_pool_id",
                        column: x => x.default_pool_id,
                        principalTable: "pool",
                        principalColumn: "id",
                        onDelete: ReferentialAction.SetNull);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "member",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    pool_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    subnet_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    ip_address = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: false),
                    protocol_port = table.Column<int>(type: "int", nullable: false),
                    weight = table.Column<int>(type: "int", nullable: true),
                    backup = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    monitor_address = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true),
                    monitor_port = table.Column<int>(type: "int", nullable: true),
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    provisioning_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    operating_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_member", x => x.id);
                    table.ForeignKey(
                        name: "FK_member_pool_pool_id",
                        column: x => x.pool_id,
                        principalTable: "pool",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "session_persistence",
                columns: table => new
                {
                    pool_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    type = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    cookie_name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    persistence_timeout = table.Column<int>(type: "int", nullable: true),
                    persistence_granularity = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_session_persistence", x => x.pool_id);
                    table.ForeignKey(
                        name: "FK_session_persistence_pool_pool_id",
                        column: x => x.pool_id,
                        principalTable: "pool",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "l7policy",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    description = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    listener_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    action = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    redirect_pool_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    redirect_url = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    redirect_prefix = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    redirect_http_code = table.Column<int>(type: "int", nullable: true),
                    position = table.Column<int>(type: "int", nullable: false),
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    name = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    provisioning_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    operating_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_l7policy", x => x.id);
                    table.ForeignKey(
                        name: "FK_l7policy_listener_listener_id",
                        column: x => x.listener_id,
                        principalTable: "listener",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_l7policy_pool_redirect_pool_id",
                        column: x => x.redirect_pool_id,
                        principalTable: "pool",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "listener_cidr",
                columns: table => new
                {
                    listener_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    cidr = table.Column<string>(type: "varchar(64)", maxLength: 64, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_listener_cidr", x => new { x.listener_id, x.cidr });
                    table.ForeignKey(
                        name: "FK_listener_cidr_listener_listener_id",
                        column: x => x.listener_id,
                        principalTable: "listener",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "sni",
                columns: table => new
                {
                    listener_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    tls_container_id = table.Column<string>(type: "varchar(128)", maxLength: 128, nullable: false),
                    position = table.Column<int>(type: "int", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sni", x => new { x.listener_id, x.tls_container_id });
                    table.ForeignKey(
                        name: "FK_sni_listener_listener_id",
                        column: x => x.listener_id,
                        principalTable: "listener",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "l7rule",
                columns: table => new
                {
                    id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    l7policy_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    type = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    compare_type = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    key = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: true),
                    value = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false),
                    invert = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    project_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: true),
                    provisioning_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    operating_status = table.Column<string>(type: "varchar(16)", maxLength: 16, nullable: false),
                    enabled = table.Column<bool>(type: "tinyint(1)", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime(6)", nullable: true),
                    updated_at = table.Column<DateTime>(type: "datetime(6)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_l7rule", x => x.id);
                    table.ForeignKey(
                        name: "FK_l7rule_l7policy_l7policy_id",
                        column: x => x.l7policy_id,
                        principalTable: "l7policy",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateTable(
                name: "tags",
                columns: table => new
                {
                    resource_id = table.Column<string>(type: "varchar(36)", maxLength: 36, nullable: false),
                    tag = table.Column<string>(type: "varchar(255)", maxLength: 255, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_tags", x => new { x.resource_id, x.tag });
                    // No foreign keys: tags.resource_id points at any of seven tables, as upstream (remove FK_tags_* from every new migration).
                })
                .Annotation("MySQL:Charset", "utf8mb4");

            migrationBuilder.CreateIndex(
                name: "IX_amphora_load_balancer_id",
                table: "amphora",
                column: "load_balancer_id");

            migrationBuilder.CreateIndex(
                name: "IX_availability_zone_availability_zone_profile_id",
                table: "availability_zone",
                column: "availability_zone_profile_id");

            migrationBuilder.CreateIndex(
                name: "IX_flavor_flavor_profile_id",
                table: "flavor",
                column: "flavor_profile_id");

            migrationBuilder.CreateIndex(
                name: "uq_flavor_name",
                table: "flavor",
                column: "name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "uq_health_monitor_pool",
                table: "health_monitor",
                column: "pool_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_l7policy_listener_id",
                table: "l7policy",
                column: "listener_id");

            migrationBuilder.CreateIndex(
                name: "IX_l7policy_redirect_pool_id",
                table: "l7policy",
                column: "redirect_pool_id");

            migrationBuilder.CreateIndex(
                name: "IX_l7rule_l7policy_id",
                table: "l7rule",
                column: "l7policy_id");

            migrationBuilder.CreateIndex(
                name: "IX_listener_default_pool_id",
                table: "listener",
                column: "default_pool_id");

            migrationBuilder.CreateIndex(
                name: "uq_listener_load_balancer_id_protocol_port",
                table: "listener",
                columns: new[] { "load_balancer_id", "protocol", "protocol_port" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_load_balancer_project_id",
                table: "load_balancer",
                column: "project_id");

            migrationBuilder.CreateIndex(
                name: "uq_member_pool_id_address_protocol_port",
                table: "member",
                columns: new[] { "pool_id", "ip_address", "protocol_port" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_pool_load_balancer_id",
                table: "pool",
                column: "load_balancer_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "additional_vip");

            migrationBuilder.DropTable(
                name: "amphora");

            migrationBuilder.DropTable(
                name: "amphora_health");

            migrationBuilder.DropTable(
                name: "availability_zone");

            migrationBuilder.DropTable(
                name: "flavor");

            migrationBuilder.DropTable(
                name: "listener_cidr");

            migrationBuilder.DropTable(
                name: "listener_statistics");

            migrationBuilder.DropTable(
                name: "quotas");

            migrationBuilder.DropTable(
                name: "session_persistence");

            migrationBuilder.DropTable(
                name: "sni");

            migrationBuilder.DropTable(
                name: "tags");

            migrationBuilder.DropTable(
                name: "vip");

            migrationBuilder.DropTable(
                name: "vrrp_group");

            migrationBuilder.DropTable(
                name: "availability_zone_profile");

            migrationBuilder.DropTable(
                name: "flavor_profile");

            migrationBuilder.DropTable(
                name: "health_monitor");

            migrationBuilder.DropTable(
                name: "l7rule");

            migrationBuilder.DropTable(
                name: "member");

            migrationBuilder.DropTable(
                name: "l7policy");

            migrationBuilder.DropTable(
                name: "listener");

            migrationBuilder.DropTable(
                name: "pool");

            migrationBuilder.DropTable(
                name: "load_balancer");
        }
    }
}
