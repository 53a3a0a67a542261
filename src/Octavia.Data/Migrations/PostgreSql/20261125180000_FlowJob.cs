using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Octavia.Data.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class FlowJob : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "flow_job",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(36)", maxLength: 36, nullable: false),
                    flow_name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    args = table.Column<string>(type: "text", nullable: false),
                    store = table.Column<string>(type: "text", nullable: false),
                    progress = table.Column<string>(type: "text", nullable: false),
                    state = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    current_task_index = table.Column<int>(type: "integer", nullable: false),
                    current_task = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    owner = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    lease_expires_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    error = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_flow_job", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_flow_job_state_lease",
                table: "flow_job",
                columns: new[] { "state", "lease_expires_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "flow_job");
        }
    }
}
