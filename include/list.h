/* An intrusive doubly linked list, as in the kernel and libuv's queue.h. */
#ifndef SCTPGW_LIST_H
#define SCTPGW_LIST_H

#include <stddef.h>

typedef struct list {
    struct list *prev, *next;
} list_t;

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void list_init(list_t *l)
{
    l->prev = l->next = l;
}

static inline int list_empty(const list_t *l)
{
    return l->next == l;
}

static inline void list_push(list_t *head, list_t *item)
{
    item->prev = head->prev;
    item->next = head;
    head->prev->next = item;
    head->prev = item;
}

/* Unlinks an item and leaves it self-linked, so removing twice is harmless. */
static inline void list_remove(list_t *item)
{
    item->prev->next = item->next;
    item->next->prev = item->prev;
    list_init(item);
}

#define list_foreach_safe(pos, tmp, head)                                                          \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
