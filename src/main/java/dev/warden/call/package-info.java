/**
 * The values every call carries and every package may use: its isolation {@link dev.warden.call.Tier}
 * and its outcome {@link dev.warden.call.Status}. Depends on nothing else in Warden.
 */
package dev.warden.call;
