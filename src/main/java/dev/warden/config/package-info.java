/** Configuration records and their YAML loading. Shared by every package; depends on none of them. */
package dev.warden.config;
