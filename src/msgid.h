/* msgid.h - stable journal MESSAGE_IDs for the events an operator may
 * search or alert on. Each has an entry in systemd/ksmpilot.catalog; a test
 * checks that every ID here is in the catalog. Never change an ID. */
#ifndef KSMPILOT_MSGID_H
#define KSMPILOT_MSGID_H

#define MSGID_KSM_STARTED       "2df0655570c14a41b291d67f82f1b3eb" /* run=1 written */
#define MSGID_KSM_STOPPED       "37698a49c8014af1932060c4982f8808" /* run=0 written */
#define MSGID_NOTHING_TO_MERGE  "a2e474c58d8547448c1b95fbcdbceaea" /* effort cut to the idle rate */
#define MSGID_CPU_CAP           "4e0bf6e3aa5646fbb3d829f4c869dacc" /* ksmd above max_cpu, rate cut */
#define MSGID_ADVISOR           "7baaa8ff00254759b272184d3eb0c628" /* kernel advisor seen and handled */
#define MSGID_RELOAD_FAILED     "731cd7c96be043b7bd23288da65d5e22" /* bad config on reload, old kept */
#define MSGID_KSM_UNAVAILABLE   "473f2216c343464b98c6c4a1cddf810d" /* KSM missing, read-only or unreadable */
#define MSGID_WRITE_REJECTED    "1a08ed17bf6d440f9d4a8a91d729d445" /* the kernel refused a knob write */
#define MSGID_FOREIGN_CHANGE    "d02e5b1351824dd2b4bf1c9b775acba5" /* a knob changed by someone else */
#define MSGID_NEGATIVE_PROFIT   "9682071120cd4b72a49b10f97811fec0" /* general_profit < 0 for 10 min */
#define MSGID_MAP_COUNT         "82a632c6e520477da8d426f1a55812a5" /* KSM process near vm.max_map_count */
#define MSGID_NUMA_MERGE        "e335db28262c4269857dc494288c5474" /* merge_across_nodes=1, several nodes */
#define MSGID_INSPECT_STALE     "eb3bd2a1148a402695443b37ad5e2614" /* no fresh state_dir/processes */
#define MSGID_HISTORY           "27eb3d69c51847cbb6752d84ca60ff1a" /* the summary of a period (history_period) */

#endif
