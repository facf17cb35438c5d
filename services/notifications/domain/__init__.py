"""The rules of the notifications trade, without I/O or a clock: the caller passes "now" in.

- ``model``: the words (channels, languages, template categories), the person (contact
  details, preferences) and who hears what, on which channel, in which language.
- ``timing``: quiet hours for SMS and the retry backoff of a failed delivery.
- ``notices``: a notice composed for a person with its deliveries, what a delivery attempt
  needs and which outcome is announced, and the inbox as the person sees it.
- ``reminders``: the open bills and which of them get a reminder on a business date.
- ``templates``: the wording of every notice in Chinese and English.

Vocabulary: a *notification* is one notice to one person about one event (its inbox entry);
a *delivery* is that notice on one channel (inbox, SMS, e-mail), with its own status.
"""
